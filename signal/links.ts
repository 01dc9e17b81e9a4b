// Footer links (privacy notice, imprint, help): one check for the server's configuration and the
// page that shows them. Dependency-free, so the client bundle imports it as it is.

/** The origin the server checks paths against: a name that can never be a real host (RFC 2606). */
export const CONFIG_ORIGIN = 'https://treff.invalid';

/**
 * What a footer link may be: a path on this server or an absolute `https:` address. Decided by
 * parsing the link as the browser will, not by looking at its first characters: the URL parser
 * drops tabs and newlines and reads `\` as `/`, so `/\t/evil.example/privacy` is the
 * protocol-relative `//evil.example/privacy`. A link that is not an absolute URL is a reference
 * relative to the page, so it must resolve (`new URL(link, origin)`) to the page's own origin;
 * only a link written as an absolute URL may leave it, and only to `https:` (a plain `http:` link
 * is readable and changeable on the way; user names, as in https://meet.example.org@evil.example,
 * are refused too). Returns what to put in `href` (a path starting with one `/` for this
 * server, the parsed address otherwise), or undefined.
 */
export function footerLinkTarget(link: string, origin: string): string | undefined {
  let base: URL;
  try {
    base = new URL(origin);
  } catch {
    return undefined;
  }
  const absolute = parse(link);
  if (absolute) {
    if (absolute.username || absolute.password) return undefined;
    if (absolute.origin === base.origin) return pathOf(absolute);
    return absolute.protocol === 'https:' ? absolute.href : undefined;
  }
  // Only paths from the root: "impressum" would depend on the path of the page showing it.
  if (!link.startsWith('/')) return undefined;
  const resolved = parse(link, base);
  return resolved && resolved.origin === base.origin ? pathOf(resolved) : undefined;
}

function parse(link: string, base?: URL): URL | undefined {
  try {
    return new URL(link, base);
  } catch {
    return undefined;
  }
}

function pathOf(url: URL): string | undefined {
  const path = `${url.pathname}${url.search}${url.hash}`;
  // pathname always starts with "/"; a second one would make the href protocol-relative again.
  return path.startsWith('//') ? undefined : path;
}
