/**
 * Errors in the OpenAI wire shape `{"error":{"message","type","param","code"}}` and small JSON
 * response helpers. Follows the OpenAI API error object (as llama.cpp server and vLLM reproduce it).
 * Deliberately no logging here.
 */

/** An error a route throws to answer with a given status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : status === 429 || status === 503 ? 'server_busy' : status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** 400 for a bad field, naming it. */
export function badField(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, 'invalid_value');
}

/** A JSON response. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
}

/** The OpenAI-shaped error response for any thrown value (unknown errors become 500 without internals). */
export function errorResponse(err: unknown): Response {
  if (err instanceof ApiError) {
    return json({ error: { message: err.message, type: err.type, param: err.param, code: err.code } }, err.status, err.headers);
  }
  return json({ error: { message: 'internal server error', type: 'server_error', param: null, code: null } }, 500);
}
