/**
 * The two things every webview page needs from the host, in one place: escaping for any value put into
 * HTML (text or attribute), and the Content-Security-Policy. Both pages are built from data that may come
 * from untrusted stored results, so nothing is interpolated unescaped and nothing but the nonce'd script
 * runs; forms, <base>, frames and plugins are off whatever the markup says.
 */

/** Escape for HTML text and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The CSP of a certseg webview: only the nonce'd script, images from the webview's own resources or blobs. */
export function webviewCsp(cspSource: string, nonce: string, style: 'source' | 'nonce'): string {
  const styleSrc = style === 'nonce' ? `'nonce-${nonce}'` : cspSource;
  return (
    [
      "default-src 'none'",
      `img-src ${cspSource} blob:`,
      `script-src 'nonce-${nonce}'`,
      `style-src ${styleSrc}`,
      "form-action 'none'",
      "base-uri 'none'",
      "frame-src 'none'",
      "object-src 'none'",
    ].join('; ') + ';'
  );
}
