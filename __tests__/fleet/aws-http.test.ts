/**
 * The AWS clients' HTTP limits against a server on 127.0.0.1 that stalls: a request whose answer
 * never comes, or whose body stops half-way, fails with a TimeoutError instead of hanging, and the
 * next attempt (the SDK's own retry, or withRetry around a body read) gets the answer.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { S3Client } from '@aws-sdk/client-s3'
import { RunObjects } from '../../src/runner/objects.js'
import { withRetry } from '../../src/fleet/aws/retry.js'
import { AWS_HTTP_OPTIONS, withHttpLimits } from '../../src/util/aws-http.js'

const DOC = JSON.stringify({ ok: true, pad: 'x'.repeat(200) })
const LIMITS = { connectionTimeout: 1000, socketTimeout: 400 }

type Stall = 'headers' | 'body' | null

/** An S3-ish server: GET answers DOC; the first `stalls` requests stall as told. */
async function stallingServer(stalls: Stall[]) {
  const held: ServerResponse[] = []
  let requests = 0
  const server: Server = createServer((req, res) => {
    const stall = stalls[requests++] ?? null
    req.resume()
    if (stall === 'headers') return void held.push(res)
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(DOC.length) })
    if (stall === 'body') {
      res.write(DOC.slice(0, 20))
      return void held.push(res)
    }
    res.end(DOC)
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests
    },
    close: async () => {
      for (const res of held) res.destroy()
      server.closeAllConnections()
      await new Promise(r => server.close(r))
    }
  }
}

const clientFor = (url: string) =>
  new S3Client(
    withHttpLimits(
      {
        region: 'us-east-1',
        endpoint: url,
        forcePathStyle: true,
        credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' }
      },
      LIMITS
    )
  )

describe('AWS HTTP limits', () => {
  it('default limits are finite: a connection attempt and an idle socket both end', () => {
    expect(AWS_HTTP_OPTIONS.connectionTimeout).toBeGreaterThan(0)
    expect(AWS_HTTP_OPTIONS.socketTimeout).toBeGreaterThan(0)
    expect(withHttpLimits({ region: 'eu-west-1' })).toEqual({
      region: 'eu-west-1',
      requestHandler: { ...AWS_HTTP_OPTIONS }
    })
  })

  it('a request whose answer never comes times out and the SDK retries it', async () => {
    const server = await stallingServer(['headers'])
    const client = clientFor(server.url)
    try {
      const doc = await new RunObjects(client, 'bucket').getJson<{ ok: boolean }>('run/go.json')
      expect(doc?.ok).toBe(true)
      expect(server.requests).toBe(2)
    } finally {
      client.destroy()
      await server.close()
    }
  })

  it('a body that stops half-way fails with a TimeoutError, and withRetry reads it again', async () => {
    const server = await stallingServer(['body'])
    const client = clientFor(server.url)
    const objects = new RunObjects(client, 'bucket')
    const errors: string[] = []
    try {
      const doc = await withRetry(() => objects.getJson<{ ok: boolean }>('run/progress.json'), {
        sleep: async () => undefined,
        onRetry: e => errors.push((e as Error).name)
      })
      expect(doc?.ok).toBe(true)
      expect(errors).toEqual(['TimeoutError'])
      expect(server.requests).toBe(2)
    } finally {
      client.destroy()
      await server.close()
    }
  })
})
