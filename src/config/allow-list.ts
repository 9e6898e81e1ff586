/**
 * The target allow-list: perf-gate sends load only to loopback addresses and to the hosts listed
 * under `allowed-hosts` in perf-gate.yml (or given with `--allow-host`).
 */
import { isIPv4 } from 'node:net'
import { ConfigError } from './scenario.js'

/** A host name in lower case, without the brackets of an IPv6 literal. */
export function normalHost(h: string): string {
  const s = h.toLowerCase()
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s
}

/** Whether a host name is a loopback address: 127.0.0.0/8, localhost or ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = normalHost(host)
  if (h === 'localhost' || h === '::1') return true
  return isIPv4(h) && h.startsWith('127.')
}

/**
 * Refuses a target whose host is neither loopback nor listed in `allowedHosts`. `where` names
 * the setting the target came from (a flag or a config field).
 */
export function checkTargetAllowed(target: string, allowedHosts: readonly string[], where: string): void {
  const host = normalHost(new URL(target).hostname)
  if (isLoopbackHost(host)) return
  if (allowedHosts.map(normalHost).includes(host)) return
  throw new ConfigError(
    `${where}: target host "${host}" is not allowed; perf-gate sends load only to loopback addresses ` +
      `(127.0.0.0/8, localhost, ::1) and to hosts listed under allowed-hosts in perf-gate.yml`
  )
}
