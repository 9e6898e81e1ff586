/** The request list of the built-in http engine, checked and converted for autocannon. */
import type autocannon from 'autocannon'
import type { HttpRequestSpec } from '../model/index.js'

/** Methods autocannon can send. */
export const HTTP_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH'
] as const

/** One request of the list: its label and what autocannon sends. */
export interface PreparedRequest {
  label: string
  request: autocannon.Request
}

function joinPath(basePath: string, path: string): string {
  const base = basePath.replace(/\/+$/, '')
  const rel = path.startsWith('/') ? path : `/${path}`
  return base + rel
}

/** Checks and converts the request list; throws an Error naming the field. */
export function prepareRequests(specs: HttpRequestSpec[] | undefined, targetUrl: string): PreparedRequest[] {
  let url: URL
  try {
    url = new URL(targetUrl)
  } catch {
    throw new Error(`load.targetUrl: "${targetUrl}" is not a valid URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`load.targetUrl: "${targetUrl}" must be an http:// or https:// URL`)
  const list = specs?.length ? specs : [{ path: '/' }]
  return list.map((r, i) => {
    const method = (r.method ?? 'GET').toUpperCase()
    if (!(HTTP_METHODS as readonly string[]).includes(method))
      throw new Error(
        `requests[${i}].method: "${r.method}" is not supported (use one of ${HTTP_METHODS.join(', ')})`
      )
    if (typeof r.path !== 'string' || !r.path.length)
      throw new Error(`requests[${i}].path: must not be empty`)
    if (/\s/.test(r.path))
      throw new Error(`requests[${i}].path: "${r.path}" must not contain spaces (URL-encode it)`)
    const request: autocannon.Request = {
      method: method as autocannon.Request['method'],
      path: joinPath(url.pathname, r.path),
      ...(r.headers ? { headers: { ...r.headers } } : {}),
      ...(r.body !== undefined ? { body: r.body } : {})
    }
    return { label: r.label ?? `${method} ${r.path}`, request }
  })
}
