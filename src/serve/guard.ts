/**
 * Browser-facing safety for a key-less server on loopback: a web page the user visits must not be
 * able to drive the API. Two checks, as Ollama does them:
 *  - Origin: a request a browser sends cross-origin carries `Origin`; only the server's own origin
 *    (the web chat at /) and loopback origins are accepted, so a "simple" request (a `text/plain`
 *    POST, which needs no CORS preflight) from any other page gets 403;
 *  - Host (DNS rebinding): when the server listens on loopback, a `Host` that is not a loopback
 *    name (`localhost`, `*.localhost`, `127.x.y.z`, `[::1]`) gets 403.
 * Deliberately no CORS headers: the API is for programs and for the same-origin web chat.
 */
import { ApiError } from './errors.js';

export interface GuardOptions {
  /** Refuse a Host that is not a loopback name (set when listening on a loopback address). */
  readonly loopbackHostOnly: boolean;
}

/** Whether a host name (no port; IPv6 in brackets or not) names the loopback interface. */
export function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host name of a `Host` header value (`a:80` -> `a`, `[::1]:80` -> `[::1]`). */
function hostName(host: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(host.trim());
  return m ? m[1] : host;
}

/** Throws 403 for a foreign Origin or (on loopback) a foreign Host. */
export function checkBrowserSafety(req: Request, o: GuardOptions): void {
  const host = req.headers.get('host') ?? new URL(req.url).host;
  if (o.loopbackHostOnly && !isLoopbackName(hostName(host))) {
    throw new ApiError(403, `Host ${JSON.stringify(host)} is not a loopback name; this server listens on loopback (DNS rebinding refused)`, 'permission_error', null, 'host_not_allowed');
  }
  const origin = req.headers.get('origin');
  if (origin === null) return;
  let o2: URL | undefined;
  try {
    o2 = new URL(origin);
  } catch {
    o2 = undefined;
  }
  const same = o2 !== undefined && o2.host.toLowerCase() === host.toLowerCase();
  if (!o2 || (o2.protocol !== 'http:' && o2.protocol !== 'https:') || !(same || isLoopbackName(o2.hostname))) {
    throw new ApiError(403, `cross-origin request from ${JSON.stringify(origin)} refused`, 'permission_error', null, 'origin_not_allowed');
  }
}
