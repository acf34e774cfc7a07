import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A transport-level refusal: the request never reached a policy. The body shape
 * `{"message", "status"}` is Kubewarden's, so clients written for it parse ours.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    message: string,
    /** Close the connection after answering: the rest of the body is not worth reading. */
    readonly closeConnection = false,
  ) {
    super(message);
  }
}

/** `{"message": ..., "status": N}` */
export function errorBody(status: number, message: string): string {
  return JSON.stringify({ message, status });
}

/**
 * Writes a complete JSON response in one `writeHead` + `end`: with an explicit
 * content-length Node sends headers and body in a single write and skips chunked encoding.
 */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  closeConnection: boolean,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (closeConnection) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * JSON media types we accept: `application/json`, optionally with `charset=utf-8`
 * (JSON is UTF-8 by RFC 8259; any other charset or parameter is refused, not guessed).
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  if (header === 'application/json') return true;
  const [type = '', ...params] = header.split(';');
  if (type.trim().toLowerCase() !== 'application/json') return false;
  return params.every((p) => {
    const [name = '', value = ''] = p.split('=');
    return (
      name.trim().toLowerCase() === 'charset' &&
      value.trim().replace(/^"|"$/g, '').toLowerCase() === 'utf-8'
    );
  });
}

/**
 * Reads the whole body as bytes, refusing more than `limit` before buffering it: a
 * declared content-length over the limit is refused without reading, a chunked body as
 * soon as it crosses it. Bytes, not strings, so a multi-byte character split across
 * chunks is decoded once, correctly, by the single `toString` at the end.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onClose = (): void => {
      cleanup();
      reject(new HttpError(400, 'the client closed the connection before sending the whole body'));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onError);
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body exceeds the limit of ${limit} bytes`, true);
}
