// The app's one stylesheet, served from memory at /assets/review.css (no CDN, no build step).
export const reviewStyles = `
:root { --ink: #1d2430; --muted: #5b6575; --line: #d8dde5; --accent: #2453c9; --bad: #b3261e; --good: #1e7a3a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--ink); background: #f7f8fa; }
header.top { background: #fff; border-bottom: 1px solid var(--line); padding: 10px 24px; display: flex; gap: 16px; align-items: baseline; }
header.top .brand { font-weight: 700; }
header.top nav a { margin-right: 8px; }
main { padding: 16px 24px 48px; max-width: 1400px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 20px; margin: 8px 0 12px; }
h2 { font-size: 16px; margin: 20px 0 8px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.status-completed { color: var(--good); font-weight: 600; }
.status-failed, .status-unreadable { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 18px; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 12px 0; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
form.filters input, form.filters select { font: inherit; padding: 4px 6px; }
.pager { margin: 10px 0; display: flex; gap: 12px; }
img.thumb { max-width: 120px; max-height: 90px; display: block; }
.slide-view { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.overlay { position: relative; display: inline-block; border: 1px solid var(--line); background: #fff; }
.overlay img { display: block; width: 640px; max-width: 90vw; height: auto; image-rendering: pixelated; }
.overlay svg { position: absolute; inset: 0; width: 100%; height: 100%; }
.overlay rect.candidate { fill: none; stroke: #2453c9; stroke-opacity: 0.5; }
.overlay a rect.selected { fill: #ffb300; fill-opacity: 0.25; stroke: #ff6f00; }
.overlay a:hover rect.selected { fill-opacity: 0.55; }
.hide-candidates rect.candidate { display: none; }
.patch-view { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.patch-view img.patch { width: min(672px, 46vw); min-width: 320px; height: auto; border: 1px solid var(--line); }
.texts { flex: 1; min-width: 360px; max-width: 640px; }
.slide-view > div > label { display: block; margin-bottom: 6px; }
.text-block { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 12px; }
del { background: #fde2e1; color: #8c1d18; }
ins { background: #dcf3e3; color: #14532d; text-decoration: none; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.notice { background: #fff8e1; border: 1px solid #f2d98b; padding: 6px 10px; border-radius: 6px; margin: 8px 0; }
header.top .reviewer { margin-left: auto; }
section.review, section.gate { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 12px 0; }
section.gate { max-width: 900px; }
.review-actions { display: flex; flex-direction: column; gap: 8px; }
.review-actions button.accept { align-self: flex-start; }
.review-actions form { display: flex; gap: 8px; align-items: flex-start; }
.review-actions input { flex: 1; font: inherit; padding: 4px 6px; }
.review-actions textarea { flex: 1; font: inherit; padding: 4px 6px; }
.review-actions button, button.approve { font: inherit; padding: 4px 10px; cursor: pointer; }
.review-message.bad, .approve-message.bad { color: var(--bad); }
.review-accepted { color: var(--good); font-weight: 600; }
.review-edited { color: var(--accent); font-weight: 600; }
.review-flagged { color: var(--bad); font-weight: 600; }
kbd { border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 3px; padding: 0 4px; font-size: 12px; background: #f7f8fa; }
`;
