/**
 * The console's whole stylesheet, inlined by `Layout`: a light page, dark text, one accent.
 * Components use these class names instead of repeating style attributes.
 */
export const CONSOLE_CSS = `
:root {
  --bg: #f5f6f8; --panel: #fff; --text: #17202a; --muted: #5f6b7a; --line: #e3e6ea;
  --accent: #1d4ed8; --ok: #15803d; --warn: #b45309; --bad: #b91c1c;
  color-scheme: light;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif;
}
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.top {
  background: var(--panel); border-bottom: 1px solid var(--line);
  display: flex; align-items: center; gap: 28px; padding: 0 32px; height: 56px;
}
header.top .brand { font-weight: 700; font-size: 17px; color: var(--text); letter-spacing: .02em; }
header.top nav { display: flex; gap: 18px; flex: 1; }
header.top nav a { color: var(--muted); font-weight: 500; }
header.top nav a.here { color: var(--text); }
header.top .who { display: flex; align-items: center; gap: 12px; color: var(--muted); font-size: 14px; }
main { max-width: 1200px; margin: 0 auto; padding: 32px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 12px; }
.sub { color: var(--muted); margin: 0 0 24px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 20px 24px; margin-bottom: 24px; }
.panel.flush { padding: 0; overflow: hidden; }
.panel.flush h2 { padding: 18px 24px 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 24px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 11px 14px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th:first-child, td:first-child { padding-left: 24px; }
th:last-child, td:last-child { padding-right: 24px; }
th { white-space: nowrap; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.empty { color: var(--muted); text-align: center; padding: 28px; }
.muted { color: var(--muted); }
.nowrap { white-space: nowrap; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.usage { display: flex; align-items: center; gap: 10px; white-space: nowrap; font-variant-numeric: tabular-nums; }
.usage .label { font-size: 13px; color: var(--muted); }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; }
.badge.active { background: #dcfce7; color: var(--ok); }
.badge.suspended { background: #fef3c7; color: var(--warn); }
.badge.neutral { background: #eef0f3; color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 8px 24px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.stats { display: flex; gap: 32px; flex-wrap: wrap; margin-bottom: 16px; }
.stats div { display: flex; flex-direction: column; }
.stats b { font-size: 22px; font-variant-numeric: tabular-nums; }
.stats span { color: var(--muted); font-size: 13px; }
button, .button {
  font: inherit; font-weight: 600; border: 1px solid var(--text); background: var(--text); color: #fff;
  border-radius: 8px; padding: 9px 16px; cursor: pointer;
}
button.link { background: none; border: 0; color: var(--muted); padding: 0; font-weight: 500; }
button.link:hover { color: var(--text); text-decoration: underline; }
form.inline { display: inline; margin: 0; }
.auth { max-width: 380px; margin: 12vh auto 0; }
.auth .brand { font-size: 22px; font-weight: 700; text-align: center; margin-bottom: 20px; }
label { display: block; font-weight: 500; margin: 14px 0 6px; }
input[type=email], input[type=password] {
  width: 100%; font: inherit; padding: 9px 12px; border: 1px solid #c9ced6; border-radius: 8px; background: #fff;
}
input:focus { outline: 2px solid var(--accent); outline-offset: -1px; border-color: transparent; }
.auth button { width: 100%; margin-top: 20px; }
.alert { border-radius: 8px; padding: 10px 14px; margin-bottom: 8px; background: #fef2f2; color: var(--bad); border: 1px solid #fecaca; }
.error-page { text-align: center; margin-top: 10vh; }
.error-page .code { font-size: 56px; font-weight: 700; color: var(--line); margin: 0; }
`;
