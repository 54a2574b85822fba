// portal.test.mjs - the welcome portal (web/) in headless Debian chromium,
// driven by playwright-core, against a running meshgate server.
//
//   node tests/web/portal.test.mjs http://127.0.0.1:PORT
//
// Normally run by tests/web/test_portal.sh, which creates the users, starts the
// server and passes these in the environment:
//   ALICE_PW, BOB_PW        passwords of the users alice and bob
//   ADMIN_USER, ADMIN_PW    an account with the admin role (for the sign-up checks)
//   NODE_NAME               the server's --name (checked, with markup in it, for escaping)
//   PORTAL_SCREENSHOT_DIR   where screenshots go (default: a new temporary directory)
//   CHROMIUM                the browser (default /usr/bin/chromium)
//   MESHGATE_VERBOSE=1      print passing checks too
//
// Prints one line per failure ("FAIL what broke") and ends with
// "portal: N passed, N failed"; exits 1 on any failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BASE = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\//.test(BASE)) {
    console.error('usage: node portal.test.mjs http://127.0.0.1:PORT');
    process.exit(2);
}
const ALICE_PW = process.env.ALICE_PW || 'alice-Secret-1';
const BOB_PW = process.env.BOB_PW || 'bob-Secret-2';
const ADMIN_USER = process.env.ADMIN_USER || '';
const ADMIN_PW = process.env.ADMIN_PW || '';
const NODE_NAME = process.env.NODE_NAME || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const VERBOSE = process.env.MESHGATE_VERBOSE === '1';
const SHOTS = process.env.PORTAL_SCREENSHOT_DIR ||
    fs.mkdtempSync(path.join(os.tmpdir(), 'mg-portal-shots.'));
fs.mkdirSync(SHOTS, { recursive: true });

// The flags this machine's chromium needs: no sandbox as root, and no calls
// home, which a closed network refuses (see the project's CLIENTS.md).
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync'];
const WAIT_MS = 10000;

let passed = 0;
let failed = 0;

function pass(desc) {
    passed++;
    if (VERBOSE) console.log(`ok   ${desc}`);
}

function fail(desc) {
    failed++;
    console.log(`FAIL ${desc}`);
}

function firstLine(e) {
    return String(e && e.message ? e.message : e).split('\n')[0];
}

// check(desc, fn): fn returns true (pass), or a string/false saying what was wrong.
async function check(desc, fn) {
    try {
        const r = await fn();
        if (r === true || r === undefined) pass(desc);
        else fail(`${desc}: ${r === false ? 'condition false' : r}`);
        return r === true || r === undefined;
    } catch (e) {
        fail(`${desc}: ${firstLine(e)}`);
        return false;
    }
}

// eventually(fn): polls fn until it returns true, with a deadline; returns true
// or the last thing fn said (a string describing what it saw).
async function eventually(fn, ms = WAIT_MS) {
    const deadline = Date.now() + ms;
    let last;
    for (;;) {
        try {
            last = await fn();
        } catch (e) {
            last = firstLine(e);
        }
        if (last === true) return true;
        if (Date.now() > deadline) return typeof last === 'string' ? last : `timed out after ${ms} ms`;
        await new Promise((r) => setTimeout(r, 50));
    }
}

// The text of the first match; a short timeout, as callers poll with their own deadline.
async function text(page, selector) {
    return (await page.locator(selector).first().textContent({ timeout: 1000 })) ?? '';
}

async function visible(page, selector) {
    return page.locator(selector).first().isVisible();
}

// textIs(page, sel, want): a check function: the element's text equals want.
function textIs(page, selector, want) {
    return () => eventually(async () => {
        const t = await text(page, selector);
        return t === want || `${selector} shows '${t}', expected '${want}'`;
    });
}

function textHas(page, selector, want) {
    return () => eventually(async () => {
        const t = await text(page, selector);
        return t.includes(want) || `${selector} shows '${t.slice(0, 300)}', expected it to contain '${want}'`;
    });
}

function isVisible(page, selector, want = true) {
    return () => eventually(async () => (await visible(page, selector)) === want ||
        `${selector} is ${want ? 'not visible' : 'visible'}`);
}

async function shot(page, name) {
    const file = path.join(SHOTS, name);
    await page.screenshot({ path: file, fullPage: true });
    if (VERBOSE) console.log(`screenshot ${file}`);
}

async function apiJson(method, p, token, body, extra) {
    const headers = { Accept: 'application/json', ...(extra || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(BASE + '/api/v1' + p, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const t = await res.text();
    let data = null;
    try {
        data = t ? JSON.parse(t) : null;
    } catch {
        data = t;
    }
    return { status: res.status, data };
}

// The portal's session cookie (HttpOnly: only the browser context sees it).
async function sessionCookie(page) {
    return (await page.context().cookies(BASE + '/api/v1/')).find((c) => c.name === 'mg_session') || null;
}

async function signIn(page, user, password) {
    await page.fill('#signin-user', user);
    await page.fill('#signin-password', password);
    await page.click('#signin-submit');
}

async function signOut(page, who) {
    await check(`${who}: sign-out button shown`, isVisible(page, '#signout'));
    const token = (await sessionCookie(page))?.value;
    await page.click('#signout');
    await check(`${who}: after sign-out the sign-in form is back`, isVisible(page, '#signin-form'));
    await check(`${who}: after sign-out the mail view is gone`, isVisible(page, '#mail', false));
    await check(`${who}: sign-out says so`, textHas(page, '#account-notice', 'signed out'));
    await check(`${who}: sign-out clears the session cookie`, async () => {
        const c = await sessionCookie(page);
        return c === null || `cookie still set: ${c.value.slice(0, 12)}…`;
    });
    await check(`${who}: the signed-out token is revoked on the server (GET /me -> 401)`,
        () => eventually(async () => {
            const r = await apiJson('GET', '/me', token);
            return r.status === 401 || `GET /me with the old token answered ${r.status}`;
        }, 5000));
    await check(`${who}: no mail is left in the page after sign-out`, async () => {
        const t = await page.evaluate(() => ['messages', 'mailboxes', 'msg-subject', 'msg-text']
            .map((id) => document.getElementById(id).textContent).join(''));
        return t === '' || `left: '${t.slice(0, 100)}'`;
    });
    await check(`${who}: addresses show the placeholder again after sign-out`,
        textIs(page, '#connect code[data-key="webdav"]', `${BASE}/dav/files/your-name/`));
}

// ---- plain HTTP: the files the portal is made of ----------------------------------

// Returns false when the portal is not served at all (nothing else can pass then).
async function checkFiles() {
    let served = true;
    for (const [p, type] of [['/', 'text/html'], ['/index.html', 'text/html'],
        ['/app.js', 'text/javascript'], ['/style.css', 'text/css']]) {
        await check(`GET ${p} is 200 ${type}`, async () => {
            const res = await fetch(BASE + p);
            await res.arrayBuffer();
            const ct = res.headers.get('content-type') || '';
            return (res.status === 200 && ct.startsWith(type)) || `got ${res.status} ${ct}`;
        });
    }
    served = await check('GET / serves the portal', async () => {
        const html = await (await fetch(BASE + '/')).text();
        return html.includes('id="node-name"') || `no portal page: '${html.slice(0, 100)}'`;
    });
    await check('HEAD / is 200', async () => {
        const res = await fetch(BASE + '/', { method: 'HEAD' });
        return res.status === 200 || `got ${res.status}`;
    });
    await check('index.html loads nothing from elsewhere (no CDN, no external fonts)', async () => {
        const html = await (await fetch(BASE + '/')).text();
        const css = await (await fetch(BASE + '/style.css')).text();
        const ext = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1])
            .filter((u) => /^(?:[a-z]+:)?\/\//i.test(u));
        if (/@import|url\(\s*['"]?(?:https?:)?\/\//i.test(css)) ext.push('style.css imports or url()');
        return ext.length === 0 || `external references: ${ext.join(', ')}`;
    });
    return served;
}

// ---- the browser -------------------------------------------------------------------

// Returns false when the script did not even put the node's name in the page.
async function landing(page, node) {
    await page.goto(BASE + '/', { waitUntil: 'load' });
    const ok = await check('landing: h1 shows the node name from GET /api/v1/node, as text',
        textIs(page, 'h1#node-name', node.name));
    if (NODE_NAME) {
        await check('landing: the node name is the one the server was started with',
            () => node.name === NODE_NAME || `API says '${node.name}'`);
    }
    await check('landing: markup in the node name is not interpreted', async () => {
        const n = await page.locator('h1#node-name *').count();
        return n === 0 || `h1 has ${n} child element(s)`;
    });
    await check('landing: version shown', textHas(page, '#node-meta', node.version));
    await check('landing: title names the node', async () =>
        (await page.title()).includes(node.name) || `title is '${await page.title()}'`);
    await check('landing: explains what the node offers',
        textHas(page, '#about', 'Calendars'));
    await check('landing: CalDAV/CardDAV server address is this origin',
        textIs(page, '#connect code[data-key="server"]', `${BASE}/`));
    await check('landing: WebDAV address with a placeholder user',
        textIs(page, '#connect code[data-key="webdav"]', `${BASE}/dav/files/your-name/`));
    await check('landing: CalDAV address',
        textIs(page, '#connect code[data-key="caldav"]', `${BASE}/dav/calendars/your-name/`));
    await check('landing: CardDAV address',
        textIs(page, '#connect code[data-key="carddav"]', `${BASE}/dav/addressbooks/your-name/`));
    await check('landing: dav:// address for GNOME Files',
        textIs(page, '#connect code[data-key="webdav"][data-scheme="dav"]',
            `${BASE.replace(/^http/, 'dav')}/dav/files/your-name/`));
    await check('landing: setup steps for Thunderbird, DAVx5, iOS and file managers', async () => {
        const s = (await page.locator('#connect summary').allTextContents()).join(' | ');
        return ['Thunderbird', 'DAVx', 'iPhone', 'File managers'].every((w) => s.includes(w)) ||
            `summaries: ${s}`;
    });
    await check('landing: sign-in form shown', isVisible(page, '#signin-form'));
    await check('landing: sign-up form hidden while the policy is closed',
        isVisible(page, '#signup-form', false));
    await check('landing: no plain-HTTP warning on loopback', isVisible(page, '#http-warning', false));
    await check('landing: every form field has a label', async () => {
        const unlabeled = await page.evaluate(() => [...document.querySelectorAll('input, textarea')]
            .filter((i) => !i.labels || i.labels.length === 0).map((i) => i.id || i.name));
        return unlabeled.length === 0 || `unlabeled: ${unlabeled.join(', ')}`;
    });
    await check('landing: one h1 and a page language', async () => {
        const n = await page.locator('h1').count();
        const lang = await page.getAttribute('html', 'lang');
        return (n === 1 && !!lang) || `h1 count ${n}, lang '${lang}'`;
    });
    await shot(page, '01-landing.png');
    return ok;
}

async function wrongPassword(page) {
    await signIn(page, 'alice', 'not-the-password');
    await check('wrong password: the API\'s problem detail is shown',
        textHas(page, '#signin-error', 'Wrong user name or password.'));
    await check('wrong password: error is visible', isVisible(page, '#signin-error'));
    await check('wrong password: not signed in', isVisible(page, '#signed-in', false));
    await check('wrong password: no session cookie', async () => (await sessionCookie(page)) === null);
    await shot(page, '02-wrong-password.png');
}

async function aliceSends(page, subject, body) {
    await signIn(page, 'alice', ALICE_PW);
    const ok = await check('alice: signed in', isVisible(page, '#signed-in'));
    if (!ok) return false;
    await check('alice: error line cleared', isVisible(page, '#signin-error', false));
    await check('alice: her name is shown', textIs(page, '#me-user', 'alice'));
    await check('alice: mail address shown', textIs(page, '#me-address', 'alice@meshgate'));
    for (const [key, p] of [['webdav', '/dav/files/alice/'], ['caldav', '/dav/calendars/alice/'],
        ['carddav', '/dav/addressbooks/alice/'], ['principals', '/dav/principals/alice/'],
        ['server', '/']]) {
        await check(`alice: her ${key} address is filled in`,
            textIs(page, `#my-urls code[data-key="${key}"]`, BASE + p));
    }
    await check('alice: the connect section shows her WebDAV address too',
        textIs(page, '#connect code[data-key="webdav"]', `${BASE}/dav/files/alice/`));
    await check('alice: the session is an HttpOnly, SameSite=Strict cookie on the API', async () => {
        const c = await sessionCookie(page);
        if (!c) return 'no mg_session cookie';
        return (c.httpOnly && c.sameSite === 'Strict' && c.path === '/api/v1/') ||
            `cookie attributes: httpOnly=${c.httpOnly} sameSite=${c.sameSite} path=${c.path}`;
    });
    await check('alice: no script of the page can read the session token', async () => {
        const seen = await page.evaluate(() => document.cookie + JSON.stringify(sessionStorage) +
            JSON.stringify(localStorage));
        const c = await sessionCookie(page);
        return !c || !seen.includes(c.value.slice(4, 40)) || 'the token is readable by scripts';
    });
    await check('alice: the cookie without the CSRF header cannot change anything (403)', async () => {
        const c = await sessionCookie(page);
        const r = await apiJson('POST', '/mail/mailboxes', null, { name: 'Forged' },
            { Cookie: `mg_session=${c.value}` });
        return (r.status === 403 && r.data?.type?.endsWith('csrf-token')) ||
            `POST with the cookie alone answered ${r.status} ${JSON.stringify(r.data)}`;
    });
    await check('alice: the cookie with a wrong CSRF header is refused too (403)', async () => {
        const c = await sessionCookie(page);
        const r = await apiJson('POST', '/mail/mailboxes', null, { name: 'Forged' },
            { Cookie: `mg_session=${c.value}`, 'X-CSRF-Token': '0'.repeat(32) });
        return r.status === 403 || `answered ${r.status}`;
    });
    await check('alice: mailboxes listed', textHas(page, '#mailboxes', 'Inbox'));
    await check('alice: Sent listed', textHas(page, '#mailboxes', 'Sent'));

    await check('alice: the command-line example names her', textIs(page,
        '#connect code[data-template^="rclone"]', `rclone lsf :webdav: --webdav-url ${BASE}/dav/files/alice/ ` +
        '--webdav-user alice --webdav-pass "$(rclone obscure PASSWORD)"'));
    await page.evaluate(() => document.querySelectorAll('#connect details').forEach((d) => { d.open = true; }));
    await shot(page, '03-alice-setup-steps.png');

    await page.reload({ waitUntil: 'load' });
    await check('alice: still signed in after a reload', textIs(page, '#me-user', 'alice'));

    // a recipient who does not exist: the per-recipient reason is shown
    await page.click('#compose-open');
    await check('compose: form opens', isVisible(page, '#compose-form'));
    await page.fill('#compose-to', 'nobody-here');
    await page.fill('#compose-subject', 'lost');
    await page.fill('#compose-text', 'lost');
    await page.click('#compose-send');
    await check('compose: an unknown recipient is reported',
        textHas(page, '#compose-error', 'nobody-here@meshgate (no such user)'));

    await page.fill('#compose-to', 'bob');
    await page.fill('#compose-subject', subject);
    await page.fill('#compose-text', body);
    await shot(page, '04-alice-compose.png');
    await page.click('#compose-send');
    await check('compose: sent to bob', textHas(page, '#mail-status', 'Sent to bob@meshgate'));
    await check('compose: form closes after sending', isVisible(page, '#compose-form', false));

    await page.click('#mailboxes button[data-mailbox="Sent"]');
    await check('alice: the message is in Sent', textHas(page, '#messages', subject));
    await shot(page, '05-alice-sent.png');
    await signOut(page, 'alice');
    return true;
}

async function bobReads(page, subject, body) {
    await signIn(page, 'bob', BOB_PW);
    const ok = await check('bob: signed in', textIs(page, '#me-user', 'bob'));
    if (!ok) return;
    await check('bob: his WebDAV address is filled in',
        textIs(page, '#my-urls code[data-key="webdav"]', `${BASE}/dav/files/bob/`));
    await check('bob: nothing of alice\'s session is left on screen', async () => {
        const r = await page.evaluate(() => ({
            status: document.getElementById('mail-status').hidden,
            title: document.getElementById('mailbox-title').textContent,
            compose: document.getElementById('compose-form').hidden,
            subject: document.getElementById('compose-subject').value,
        }));
        return (r.status && r.title === 'Inbox' && r.compose && r.subject === '') || JSON.stringify(r);
    });
    await check('bob: Inbox shows 1 unread',
        textIs(page, '#mailboxes button[data-mailbox="Inbox"] .count', '1 unread'));
    await check('bob: the message is listed in his Inbox',
        textHas(page, '#messages li:first-child .subject', subject));
    await check('bob: it is marked unread', async () =>
        (await page.locator('#messages li:first-child button.message.unread').count()) === 1);
    await check('bob: the sender is alice', textHas(page, '#messages li:first-child .from', 'alice'));
    await page.click('#messages li:first-child button.message');
    await check('bob: the message opens', isVisible(page, '#message-view'));
    await check('bob: subject shown as text', textIs(page, '#msg-subject', subject));
    await check('bob: from alice', textHas(page, '#msg-from', 'alice@meshgate'));
    await check('bob: to bob', textHas(page, '#msg-to', 'bob@meshgate'));
    await check('bob: the body is shown exactly, as text', () => eventually(async () => {
        const t = (await text(page, '#msg-text')).replace(/\r\n/g, '\n').replace(/\n+$/, '');
        return t === body || `body is '${t}'`;
    }));
    await check('bob: markup in the message made no elements and ran nothing', async () => {
        const r = await page.evaluate(() => ({
            els: document.querySelectorAll('#msg-text *, #msg-subject *, #messages .subject *').length,
            pwned: window.__pwned === 1,
        }));
        return (r.els === 0 && !r.pwned) || JSON.stringify(r);
    });
    await check('bob: reading it clears the unread count',
        isVisible(page, '#mailboxes button[data-mailbox="Inbox"] .count', false));
    await shot(page, '06-bob-reads.png');
    await page.setViewportSize({ width: 390, height: 844 });
    await check('bob: on a phone-sized screen nothing sticks out sideways', () => eventually(async () => {
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        return w <= 390 || `page is ${w} px wide`;
    }, 3000));
    await shot(page, '07-bob-phone.png');
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.click('#msg-close');
    await check('bob: back to the list, no longer unread', () => eventually(async () =>
        (await page.locator('#messages li:first-child button.message.unread').count()) === 0 &&
        (await page.locator('#messages li:first-child .subject').textContent()) === subject));
    await signOut(page, 'bob');
}

// The sign-up form, with the policy switched to invite through the admin API.
async function signUp(page) {
    const login = await apiJson('POST', '/login', null, { user: ADMIN_USER, password: ADMIN_PW });
    if (!(await check('admin logs in over the API', () => login.status === 200 ||
        `status ${login.status}: ${JSON.stringify(login.data)}`))) return;
    const admin = login.data.token;
    const put = await apiJson('PUT', '/admin/settings', admin, { signup: 'invite' });
    if (!(await check('admin sets the sign-up policy to invite', () => put.status === 200 ||
        `status ${put.status}: ${JSON.stringify(put.data)}`))) return;
    await page.reload({ waitUntil: 'load' });
    await check('sign-up: form shown when the policy is invite', isVisible(page, '#signup-form'));
    await check('sign-up: invite field shown', isVisible(page, '#signup-invite-row'));
    await check('sign-up: the policy is explained', textHas(page, '#signup-policy', 'invite code'));
    await page.fill('#signup-user', 'carol');
    await page.fill('#signup-password', 'carol-Secret-3');
    await page.fill('#signup-invite', '0123456789abcdef0123456789abcdef');
    await page.click('#signup-submit');
    await check('sign-up: a wrong invite code is refused with the API\'s detail', () =>
        eventually(async () => (await visible(page, '#signup-error')) &&
            (await text(page, '#signup-error')).length > 10 || 'no error shown'));
    const detail = await text(page, '#signup-error');
    if (VERBOSE) console.log(`sign-up error shown: ${detail}`);
    const inv = await apiJson('POST', '/admin/invites', admin, {});
    if (!(await check('admin makes an invite code', () => inv.status === 201 ||
        `status ${inv.status}`))) return;
    await page.fill('#signup-invite', inv.data.code);
    await page.click('#signup-submit');
    await check('sign-up: carol is signed in with her new account', textIs(page, '#me-user', 'carol'));
    await check('sign-up: her Inbox is there', textHas(page, '#mailboxes', 'Inbox'));
    await signOut(page, 'carol');
    await apiJson('PUT', '/admin/settings', admin, { signup: 'closed' });
    await apiJson('POST', '/logout', admin);
}

async function withoutJavaScript(browser) {
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    ctx.setDefaultTimeout(WAIT_MS);
    try {
        const page = await ctx.newPage();
        await page.goto(BASE + '/', { waitUntil: 'load' });
        await check('no JS: a heading', textHas(page, 'h1', 'meshgate'));
        await check('no JS: WebDAV address with placeholders',
            textIs(page, '#connect code[data-key="webdav"]',
                'http://node-address/dav/files/your-name/'));
        await check('no JS: server address with a placeholder',
            textIs(page, '#connect code[data-key="server"]', 'http://node-address/'));
        await check('no JS: says that sign-in needs JavaScript',
            textHas(page, '#account', 'need JavaScript'));
        await check('no JS: no useless forms shown', isVisible(page, '#signin-form', false));
        await check('no JS: setup steps readable', isVisible(page, '#connect details summary'));
        await shot(page, '00-no-javascript.png');
    } finally {
        await ctx.close();
    }
}

async function main() {
    if (!(await checkFiles())) {
        fail('the portal is not served (is --web right?): browser checks not run');
        return;
    }
    const nodeRes = await apiJson('GET', '/node');
    const node = nodeRes.data || {};
    await check('GET /api/v1/node answers 200', () => nodeRes.status === 200 || `status ${nodeRes.status}`);

    let browser;
    try {
        // launch() starts chromium with a fresh temporary --user-data-dir of its own
        // and removes it afterwards.
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    } catch (e) {
        fail(`chromium did not start (${CHROMIUM}; run scripts/setup.sh --test): ${firstLine(e)}`);
        return;
    }
    try {
        await withoutJavaScript(browser);

        const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
        ctx.setDefaultTimeout(WAIT_MS);
        const page = await ctx.newPage();
        const problems = [];
        const foreign = [];
        page.on('pageerror', (e) => problems.push(`page error: ${firstLine(e)}`));
        page.on('console', (m) => {
            // a 401 from the API is logged by chromium as a failed resource: that is expected
            if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
                problems.push(`console error: ${m.text()}`);
            }
        });
        page.on('request', (r) => {
            const u = r.url();
            if (!u.startsWith(BASE + '/') && !/^(data|blob):/.test(u)) foreign.push(u);
        });

        const tag = Math.random().toString(36).slice(2, 10);
        const subject = `Portal test ${tag} <b>not bold</b> & more`;
        const body = `Hello Bob,\n<img src=x onerror="window.__pwned=1"> stays text.\n` +
            `<script>window.__pwned=1</script>\nmark ${tag}`;

        if (await landing(page, node)) {
            await wrongPassword(page);
            if (await aliceSends(page, subject, body)) {
                await bobReads(page, subject, body);
            }
            if (ADMIN_USER) await signUp(page);
        } else {
            fail('the page\'s script did not run: sign-in and mail checks not run');
        }

        await check('no script errors, CSP violations or console errors in the page',
            () => problems.length === 0 || problems.slice(0, 5).join(' | '));
        await check('the page requested nothing outside this node',
            () => foreign.length === 0 || foreign.slice(0, 5).join(', '));
        await ctx.close();
    } catch (e) {
        fail(`unexpected error: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' ') : e}`);
    } finally {
        await browser.close();
    }
}

try {
    await main();
} catch (e) {
    fail(`test crashed: ${firstLine(e)}`);
}
console.log(`screenshots in ${SHOTS}`);
console.log(`portal: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
