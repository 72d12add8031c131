// The app's one script, served from memory at /assets/review.js (no CDN, no build step; the
// Content-Security-Policy allows no other). It sends review actions and the gate's approval as
// JSON with the write token in a header, which a form or page from another origin cannot do, and
// gives the review queue its keys: a accept, f flag, e edit, n next, Escape leaves a field.
export const reviewScript = `
'use strict';
const token = document.querySelector('meta[name="pathgen-write-token"]')?.content ?? '';

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pathgen-token': token },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let answer;
  try { answer = JSON.parse(text); } catch { answer = { error: text }; }
  if (!response.ok) throw new Error(answer.error ?? response.statusText);
  return answer;
}

function say(element, text, bad) {
  if (!element) return;
  element.textContent = text;
  element.classList.toggle('bad', Boolean(bad));
}

const panel = document.getElementById('review');
if (panel) {
  const message = panel.querySelector('.review-message');
  const send = async (body) => {
    say(message, 'saving…');
    try {
      const answer = await post(panel.dataset.api, { key: panel.dataset.key, ...body });
      say(message, answer.message);
      panel.dataset.done = 'true';
      // In the queue, an action moves on to the next unreviewed patch.
      location.assign(panel.dataset.next || location.href);
    } catch (error) {
      say(message, error.message, true);
    }
  };
  panel.querySelector('button.accept')?.addEventListener('click', () => send({ action: 'accept' }));
  panel.querySelector('form.flag')?.addEventListener('submit', (event) => {
    event.preventDefault();
    send({ action: 'flag', reason: event.target.elements.reason.value });
  });
  const edit = panel.querySelector('form.edit');
  edit?.addEventListener('submit', (event) => {
    event.preventDefault();
    send({ action: 'edit', caption: event.target.elements.caption.value });
  });
  edit?.elements.caption.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) edit.requestSubmit();
  });
  document.addEventListener('keydown', (event) => {
    const typing = event.target instanceof HTMLElement && event.target.closest('input, textarea, select');
    if (typing) {
      if (event.key === 'Escape') event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const keys = {
      a: () => send({ action: 'accept' }),
      f: () => panel.querySelector('form.flag input[name="reason"]')?.focus(),
      e: () => edit?.elements.caption.focus(),
      n: () => panel.dataset.next && location.assign(panel.dataset.next),
    };
    const act = keys[event.key];
    if (act) {
      event.preventDefault();
      act();
    }
  });
}

for (const button of document.querySelectorAll('button.approve')) {
  button.addEventListener('click', async () => {
    const message = button.parentElement.querySelector('.approve-message');
    button.disabled = true;
    say(message, 'asking the run…');
    try {
      const answer = await post(button.dataset.api, {});
      say(message, answer.message);
      button.dataset.done = 'true';
    } catch (error) {
      say(message, error.message, true);
      button.disabled = false;
    }
  });
}

const candidates = document.getElementById('show-candidates');
candidates?.addEventListener('change', () =>
  document.getElementById('overlay')?.classList.toggle('hide-candidates', !candidates.checked),
);
`;
