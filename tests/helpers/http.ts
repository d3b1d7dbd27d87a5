// Small HTTP helpers for tests against a running server.
export async function api(base: string, token: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    redirect: "manual",
  });
  const text = await res.text();
  let data: any = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  return { status: res.status, type: res.headers.get("content-type") ?? "", data, headers: res.headers };
}

/** A cookie jar + next-auth credentials sign-in, as a browser does it. */
export class Browser {
  cookies = new Map<string, string>();
  /** `headers` go with every request (e.g. the X-Forwarded-For a proxy would add). */
  constructor(readonly base: string, readonly headers: Record<string, string> = {}) {}

  private store(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const i = pair.indexOf("=");
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
  }

  get cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async fetch(path: string, init: RequestInit = {}) {
    const res = await fetch(this.base + path, { ...init, headers: { ...this.headers, cookie: this.cookieHeader, ...(init.headers ?? {}) }, redirect: "manual" });
    this.store(res);
    return res;
  }

  /** Returns the error next-auth reports (null on success). */
  async signIn(email: string, password: string): Promise<string | null> {
    const csrf = (await (await this.fetch("/api/auth/csrf")).json()).csrfToken as string;
    const res = await this.fetch("/api/auth/callback/credentials", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken: csrf, email, password, json: "true" }).toString(),
    });
    const location = res.headers.get("location") ?? "";
    const body = (res.headers.get("content-type") ?? "").includes("json") ? await res.json().catch(() => ({})) : {};
    const url = new URL(location || body.url || this.base, this.base);
    return url.searchParams.get("error");
  }
}
