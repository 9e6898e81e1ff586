/** Names that look like a credential; such a variable is passed only when the user names it. */
export const SECRET_NAME_RE =
  /TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY|AUTH|SESSION|COOKIE|SIGNATURE/i
