// @ts-check
// The account page (`/admin`, leaders only): lists accounts and kiosk
// tokens, adds an account, disables or enables it, gives it a new password,
// revokes a token. Passwords come from the server, random, shown once here.
// Every change is a JSON POST with the session's CSRF token; the server ends
// the sessions of a disabled account or a revoked token at once.

import { setLang, getLang } from './i18n.js';

/** Strings of this page (Chinese first). */
const TEXT = {
  zh: {
    heading: '账号管理', backToMap: '返回地图', logout: '退出', accounts: '账号', name: '账号',
    displayName: '姓名', role: '角色', scope: '范围', state: '状态', actions: '操作',
    addAccount: '新增账号', grids: '网格编码（逗号分隔）', department: '部门', add: '新增',
    tokens: '大屏令牌', label: '用途', origins: '允许嵌入的来源', enabled: '启用中', disabled: '已停用',
    revoked: '已吊销', active: '有效', disable: '停用', enable: '启用', resetPassword: '重置密码',
    revoke: '吊销', confirmDisable: '停用账号 {0}？其登录会立即失效。',
    confirmReset: '为 {0} 生成新密码？其登录会立即失效。', confirmRevoke: '吊销令牌 {0}？使用它的大屏会立即退出。',
    newPassword: '账号 {0} 的新密码（只显示这一次，请当面交付）：', added: '已新增账号 {0}。初始密码（只显示这一次）：',
    done: '已完成：{0}', lang: 'EN',
    roles: { leader: '领导', planner: '规划', worker: '网格员', department: '部门', screen: '大屏' },
  },
  en: {
    heading: 'Accounts', backToMap: 'Back to map', logout: 'Log out', accounts: 'Accounts', name: 'Log-in',
    displayName: 'Name', role: 'Role', scope: 'Scope', state: 'State', actions: 'Actions',
    addAccount: 'Add an account', grids: 'Grid codes (comma-separated)', department: 'Department', add: 'Add',
    tokens: 'Kiosk tokens', label: 'Label', origins: 'Origins allowed to embed', enabled: 'enabled',
    disabled: 'disabled', revoked: 'revoked', active: 'active', disable: 'Disable', enable: 'Enable',
    resetPassword: 'New password', revoke: 'Revoke', confirmDisable: 'Disable {0}? Its sessions end now.',
    confirmReset: 'Make a new password for {0}? Its sessions end now.',
    confirmRevoke: 'Revoke token {0}? Screens using it are signed out now.',
    newPassword: 'New password of {0} (shown once, hand it over in person):',
    added: 'Account {0} added. Its first password (shown once):', done: 'Done: {0}', lang: '中文',
    roles: { leader: 'leader', planner: 'planner', worker: 'grid worker', department: 'department', screen: 'screen' },
  },
};

/**
 * @typedef {{name: string, display_name: string, role: string, grids: string[],
 *   department: string|null, disabled: boolean, updated_at: string}} Account
 * @typedef {{id: string, label: string, origins: string[], revoked_at: string|null}} Token
 */

/** @param {string} id @returns {HTMLElement} */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el;
}

/** @param {string} key @param {...string} args @returns {string} */
function tr(key, ...args) {
  const dict = /** @type {Record<string, any>} */ (TEXT[getLang() === 'en' ? 'en' : 'zh']);
  const s = String(dict[key] ?? key);
  return s.replace(/\{(\d)\}/g, (_, i) => args[Number(i)] ?? '');
}

/** @param {string} role @returns {string} */
function roleName(role) {
  const dict = TEXT[getLang() === 'en' ? 'en' : 'zh'].roles;
  return /** @type {Record<string, string>} */ (dict)[role] || role;
}

let csrf = '';

/** @param {string} path @param {object} [body] */
async function call(path, body) {
  const init = body === undefined
    ? {}
    : { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) };
  const res = await fetch(path, init);
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = data?.error ? `${data.error.code}: ${data.error.message}` : `${res.status}`;
    throw new Error(msg);
  }
  return data;
}

/** @param {string} text @param {string} [secret] */
function notice(text, secret) {
  const n = $('notice');
  n.textContent = text;
  if (secret) {
    const code = document.createElement('code');
    code.textContent = ` ${secret}`;
    code.id = 'secret';
    n.append(code);
  }
  n.hidden = false;
  $('error').hidden = true;
}

/** @param {unknown} e */
function fail(e) {
  const el = $('error');
  el.textContent = e instanceof Error ? e.message : String(e);
  el.hidden = false;
}

/** @param {string} label @param {() => Promise<void>} act @param {boolean} [danger] */
function button(label, act, danger = false) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (danger) b.className = 'danger';
  b.addEventListener('click', () => {
    b.disabled = true;
    act().catch(fail).finally(() => { b.disabled = false; });
  });
  return b;
}

/** @param {HTMLTableRowElement} row @param {...(string|Node)} items */
function cells(row, ...items) {
  for (const c of items) {
    const td = document.createElement('td');
    if (typeof c === 'string') td.textContent = c;
    else td.append(c);
    row.append(td);
  }
}

/** @param {Account} a */
function accountRow(a) {
  const row = document.createElement('tr');
  row.dataset.account = a.name;
  const scope = a.role === 'worker' ? a.grids.join(', ') : a.role === 'department' ? (a.department || '') : '';
  const state = document.createElement('span');
  state.textContent = a.disabled ? tr('disabled') : tr('enabled');
  if (a.disabled) state.className = 'off';
  const acts = document.createElement('span');
  const change = async (/** @type {string} */ action, /** @type {string} */ question) => {
    if (question && !confirm(question)) return;
    const r = await call(`/api/v1/accounts/${encodeURIComponent(a.name)}/${action}`, {});
    if (r.password) notice(tr('newPassword', a.name), r.password);
    else notice(tr('done', `${a.name} ${tr(action)}`));
    await load();
  };
  acts.append(
    a.disabled
      ? button(tr('enable'), () => change('enable', ''))
      : button(tr('disable'), () => change('disable', tr('confirmDisable', a.name)), true),
    button(tr('resetPassword'), () => change('password', tr('confirmReset', a.name))),
  );
  cells(row, a.name, a.display_name, roleName(a.role), scope, state, acts);
  return row;
}

/** @param {Token} t */
function tokenRow(t) {
  const row = document.createElement('tr');
  row.dataset.token = t.id;
  const acts = document.createElement('span');
  if (!t.revoked_at) {
    acts.append(button(tr('revoke'), async () => {
      if (!confirm(tr('confirmRevoke', t.id))) return;
      await call(`/api/v1/tokens/${encodeURIComponent(t.id)}/revoke`, {});
      notice(tr('done', `${t.id} ${tr('revoked')}`));
      await load();
    }, true));
  }
  cells(row, t.id, t.label, t.origins.join(' '), t.revoked_at ? tr('revoked') : tr('active'), acts);
  return row;
}

async function load() {
  const data = /** @type {{accounts: Account[], tokens: Token[]}} */ (await call('/api/v1/accounts'));
  const tbody = (/** @type {string} */ id) => {
    const b = $(id).querySelector('tbody');
    if (!b) throw new Error(`#${id} tbody missing`);
    return b;
  };
  tbody('accounts').replaceChildren(...data.accounts.map(accountRow));
  tbody('tokens').replaceChildren(...data.tokens.map(tokenRow));
}

function render() {
  document.documentElement.lang = getLang() === 'en' ? 'en' : 'zh-CN';
  document.title = tr('heading');
  for (const el of document.querySelectorAll('[data-t]')) {
    el.textContent = tr(/** @type {HTMLElement} */ (el).dataset.t || '');
  }
  $('lang').textContent = tr('lang');
  for (const o of /** @type {HTMLSelectElement} */ ($('add-role')).options) o.textContent = roleName(o.value);
}

function roleFields() {
  const role = /** @type {HTMLSelectElement} */ ($('add-role')).value;
  $('add-grids-l').hidden = role !== 'worker';
  $('add-dept-l').hidden = role !== 'department';
}

/** @param {string} id @returns {string} */
function value(id) {
  return /** @type {HTMLInputElement} */ ($(id)).value.trim();
}

$('add-role').addEventListener('change', roleFields);
$('add').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const role = value('add-role');
  const body = {
    name: value('add-name'),
    display_name: value('add-display') || undefined,
    role,
    grids: role === 'worker' ? value('add-grids').split(',').map((s) => s.trim()).filter(Boolean) : [],
    department: role === 'department' ? value('add-dept') : undefined,
  };
  call('/api/v1/accounts', body)
    .then(async (r) => {
      notice(tr('added', r.account.name), r.password);
      /** @type {HTMLFormElement} */ ($('add')).reset();
      roleFields();
      await load();
    })
    .catch(fail);
});
$('lang').addEventListener('click', () => {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  localStorage.setItem('wangge-lang', getLang());
  render();
  load().catch(fail);
});
$('logout').addEventListener('click', async () => {
  await fetch('/api/v1/session', { method: 'DELETE', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf } });
  location.replace('/login');
});

setLang(new URLSearchParams(location.search).get('lang') || localStorage.getItem('wangge-lang') || 'zh');
render();
roleFields();
call('/api/v1/session')
  .then((me) => {
    csrf = me.csrf || '';
    return load();
  })
  .catch(fail);
