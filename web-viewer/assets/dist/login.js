// @ts-check
// The log-in page (`/login`): posts name and password to `/api/v1/session`
// and goes on to `?next=` (a path of this site only) or the viewer.

import { t, setLang, getLang, translateDom } from './i18n.js';

/** The page's elements by id. */
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const input = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id));
const button = /** @type {HTMLButtonElement} */ ($('submit'));
const params = new URLSearchParams(location.search);
setLang(params.get('lang') || localStorage.getItem('wangge-lang') || 'zh');

/** Where to go after log-in: a local path, never another site. */
function nextPath() {
  const n = params.get('next') || '/';
  return n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') ? n : '/';
}

function render() {
  document.documentElement.lang = getLang() === 'en' ? 'en' : 'zh-CN';
  document.title = `${t('loginSubmit')} · ${t('title')}`;
  translateDom();
}

$('lang').addEventListener('click', () => {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  localStorage.setItem('wangge-lang', getLang());
  render();
});

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('error');
  err.hidden = true;
  button.disabled = true;
  try {
    const res = await fetch('/api/v1/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: input('name').value.trim(), password: input('password').value }),
    });
    if (res.ok) {
      location.replace(nextPath());
      return;
    }
    const body = await res.json().catch(() => null);
    const code = body?.error ? body.error.code : '';
    err.textContent = code === 'locked' ? t('loginLocked') : code === 'bad_credentials' ? t('loginBad') : `${res.status} ${code}`;
    err.hidden = false;
  } catch (e) {
    err.textContent = String(e.message || e);
    err.hidden = false;
  } finally {
    button.disabled = false;
  }
});

render();
