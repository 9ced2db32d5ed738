/** The HTML of the console: shells that static/console.js fills (no inline script: the CSP is default-src 'self'). */

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

const NAV: [string, string][] = [
  ["/orders", "Orders"],
  ["/consumers", "Consumers"],
  ["/dead-letters", "Dead letters"],
];

function layout(title: string, body: string, head = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} - orderflow console</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/console.css">
${head}
</head>
<body>
<header>
  <strong>orderflow console</strong>
  <nav>${NAV.map(([href, label]) => `<a href="${href}">${label}</a>`).join("")}</nav>
  <form method="post" action="/logout" class="logout"><button type="submit">Sign out</button></form>
</header>
${body}
</body>
</html>`;
}

/** A page of the console; `data` becomes data-* attributes the script reads. */
export function page(
  kind: "orders" | "order" | "consumers" | "dead-letters",
  title: string,
  data: Record<string, string> = {},
): string {
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join("");
  const charts =
    kind === "consumers"
      ? `<link rel="stylesheet" href="/static/uplot.css"><script src="/static/uplot.js" defer></script>`
      : "";
  return layout(
    title,
    `<main id="app" data-page="${kind}"${attrs}><h1>${escapeHtml(title)}</h1><p class="muted" id="status">loading ...</p></main>
<script src="/static/console.js" defer></script>`,
    charts,
  );
}

export function signInPage(message = ""): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - orderflow console</title><link rel="icon" href="/static/favicon.svg"><link rel="stylesheet" href="/static/console.css"></head>
<body>
<main class="signin">
<h1>orderflow console</h1>
<p>Paste an operator token: <code>pnpm -s run token --sub ops --scope orders:operator</code></p>
${message ? `<p class="error" id="signin-error">${escapeHtml(message)}</p>` : ""}
<form method="post" action="/login">
  <textarea name="token" id="token" rows="6" cols="80" autocomplete="off" spellcheck="false" required></textarea>
  <p><button type="submit" id="signin">Sign in</button></p>
</form>
</main>
</body>
</html>`;
}
