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

// A screenshot of one section of the page.
async function shotOf(page, selector, name) {
    const file = path.join(SHOTS, name);
    await page.locator(selector).screenshot({ path: file });
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
    await check(`${who}: no mail, file, contact or event is left in the page after sign-out`, async () => {
        const t = await page.evaluate(() => ['messages', 'mailboxes', 'msg-subject', 'msg-text',
            'file-list', 'file-crumbs', 'contact-list', 'event-list']
            .map((id) => document.getElementById(id).textContent).join(''));
        return t === '' || `left: '${t.slice(0, 100)}'`;
    });
    await check(`${who}: the files, contacts and calendar sections are hidden after sign-out`, async () => {
        const shown = [];
        for (const id of ['files', 'contacts', 'calendar']) {
            if (await visible(page, '#' + id)) shown.push(id);
        }
        return shown.length === 0 || `still shown: ${shown.join(', ')}`;
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
    await bobSeesNothingOfAlice(page);
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

// ---- files, contacts and calendar ---------------------------------------------------

// A request to the DAV side as a phone or file manager makes it: Basic auth, no cookie.
async function dav(method, p, user, password, body, headers) {
    const res = await fetch(BASE + p, {
        method,
        headers: {
            Authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64'),
            ...(headers || {}),
        },
        body,
    });
    const buf = Buffer.from(await res.arrayBuffer());
    return { status: res.status, buf, text: buf.toString('utf8') };
}

// iCalendar and vCard lines unfolded (RFC 5545 3.1, RFC 6350 3.2).
function unfold(t) {
    return t.replace(/\r\n[ \t]/g, '').replace(/\r\n/g, '\n');
}

// The row of a listed item by its data attribute.
function row(list, attr, value) {
    return `${list} li[${attr}="${value.replace(/["\\]/g, '\\$&')}"]`;
}

function hasRow(page, list, attr, value, want = true) {
    return () => eventually(async () => {
        const n = await page.locator(row(list, attr, value)).count();
        return (n > 0) === want || `${list} ${want ? 'lacks' : 'still has'} ${attr}=${value}`;
    });
}

async function activeId(page) {
    return page.evaluate(() => document.activeElement && document.activeElement.id);
}

function focusIs(page, id) {
    return () => eventually(async () => {
        const a = await activeId(page);
        return a === id || `focus is on '${a}', expected '${id}'`;
    }, 3000);
}

// Clicks an item's action button and confirms (or cancels) the dialog that asks.
async function deleteRow(page, selector, confirm, who) {
    await page.click(`${selector} button[data-action="delete"]`);
    await check(`${who}: deleting asks first, in a modal dialog`, () => eventually(async () =>
        (await page.evaluate(() => document.getElementById('confirm-dialog').open)) || 'no dialog'));
    await check(`${who}: the dialog's focus starts on Cancel`, focusIs(page, 'confirm-no'));
    if (confirm) await page.click('#confirm-yes');
    else await page.keyboard.press('Escape');
    await check(`${who}: the dialog closes`, () => eventually(async () =>
        !(await page.evaluate(() => document.getElementById('confirm-dialog').open)) || 'still open'));
}

const FILE_A = 'notes <img src=x onerror="window.__pwned=1"> & é.bin';
const FILE_B = 'hello.txt';
const FOLDER = 'Trip 2026';
const LONG_NAME = 'a-very-long-file-name-without-any-spaces-that-must-wrap-on-a-phone-' +
    'screen-instead-of-pushing-the-page-sideways.txt';

async function aliceFiles(page, who) {
    const bytes = Buffer.alloc(70000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
    const hello = Buffer.from('hello from the portal\n');

    await check(`${who}: the Files section is shown`, isVisible(page, '#files'));
    await check(`${who}: the breadcrumb starts at her files`,
        textIs(page, '#file-crumbs [aria-current="location"]', 'Your files'));
    await check(`${who}: a new account has no files`, isVisible(page, '#files-empty'));

    await page.setInputFiles('#upload-input', [
        { name: FILE_A, mimeType: 'application/octet-stream', buffer: bytes },
        { name: FILE_B, mimeType: 'text/plain', buffer: hello },
        { name: LONG_NAME, mimeType: 'text/plain', buffer: hello },
    ]);
    await page.click('#upload-submit');
    await check(`${who}: upload says it is done`, textIs(page, '#files-status', 'Uploaded 3 files.'));
    await check(`${who}: the uploaded file is listed`, hasRow(page, '#file-list', 'data-path', '/' + FILE_A));
    await check(`${who}: the second one too`, hasRow(page, '#file-list', 'data-path', '/' + FILE_B));
    await check(`${who}: its name is shown as text, with its size`, textHas(page,
        row('#file-list', 'data-path', '/' + FILE_A), `${FILE_A}68 KB`));
    await check(`${who}: markup in a file name made no elements and ran nothing`, async () => {
        const r = await page.evaluate(() => ({
            els: document.querySelectorAll('#file-list .item-name *, #file-list .item-meta *').length,
            pwned: window.__pwned === 1,
        }));
        return (r.els === 0 && !r.pwned) || JSON.stringify(r);
    });
    await check(`${who}: the upload is the very file WebDAV serves`, async () => {
        const r = await dav('GET', `/dav/files/${who}/${encodeURIComponent(FILE_A)}`, who, ALICE_PW);
        return (r.status === 200 && r.buf.equals(bytes)) || `WebDAV GET ${r.status}, ${r.buf.length} bytes`;
    });

    // the same name again: refused unless replacing is asked for
    await page.setInputFiles('#upload-input', [{ name: FILE_B, mimeType: 'text/plain',
        buffer: Buffer.from('second version\n') }]);
    await page.click('#upload-submit');
    await check(`${who}: uploading over an existing file is refused by default`,
        textHas(page, '#files-error', 'is here already'));
    await check(`${who}: the refused upload changed nothing`, async () => {
        const r = await dav('GET', `/dav/files/${who}/${FILE_B}`, who, ALICE_PW);
        return r.buf.equals(hello) || `now '${r.text}'`;
    });
    await page.check('#upload-replace');
    await page.click('#upload-submit');
    await check(`${who}: with "replace" ticked it is replaced`, textIs(page, '#files-status', `Uploaded ${FILE_B}.`));
    await check(`${who}: the replacement is stored`, () => eventually(async () => {
        const r = await dav('GET', `/dav/files/${who}/${FILE_B}`, who, ALICE_PW);
        return r.text === 'second version\n' || `now '${r.text}'`;
    }));

    // download: the bytes come back exactly, as a download, not shown in the page
    const url = page.url();
    const [dl] = await Promise.all([
        page.waitForEvent('download', { timeout: WAIT_MS }),
        page.click(`${row('#file-list', 'data-path', '/' + FILE_A)} button[data-action="download"]`),
    ]);
    // (chromium replaces the characters file systems refuse, such as < > ")
    await check(`${who}: the download is named after the file`, () =>
        dl.suggestedFilename() === FILE_A.replace(/[<>:"/\\|?*]/g, '_') || `named '${dl.suggestedFilename()}'`);
    await check(`${who}: the downloaded bytes are the uploaded ones`, async () => {
        const got = fs.readFileSync(await dl.path());
        return got.equals(bytes) || `${got.length} bytes, differ from the ${bytes.length} uploaded`;
    });
    await check(`${who}: downloading left the page where it was`, () => page.url() === url ||
        `page went to ${page.url()}`);

    // a folder, opened, filled, and left through the breadcrumb
    await page.fill('#folder-name', FOLDER);
    await page.click('#folder-submit');
    await check(`${who}: making a folder says so`, textIs(page, '#files-status', `Made the folder ${FOLDER}.`));
    await check(`${who}: the folder is listed`, hasRow(page, '#file-list', 'data-path', `/${FOLDER}/`));
    await page.click(`${row('#file-list', 'data-path', `/${FOLDER}/`)} .item-name`);
    await check(`${who}: the folder opens, named in the breadcrumb`,
        textIs(page, '#file-crumbs [aria-current="location"]', FOLDER));
    await check(`${who}: opening a folder moves the focus to its title`, focusIs(page, 'folder-title'));
    await check(`${who}: the new folder is empty`, isVisible(page, '#files-empty'));
    await page.setInputFiles('#upload-input', [{ name: 'inside.txt', mimeType: 'text/plain', buffer: hello }]);
    await page.click('#upload-submit');
    await check(`${who}: an upload goes into the folder on view`,
        hasRow(page, '#file-list', 'data-path', `/${FOLDER}/inside.txt`));
    await check(`${who}: WebDAV has it in that folder`, async () => {
        const r = await dav('GET', `/dav/files/${who}/${encodeURIComponent(FOLDER)}/inside.txt`, who, ALICE_PW);
        return r.status === 200 || `WebDAV GET ${r.status}`;
    });
    await page.click('#file-crumbs button:has-text("Your files")');
    await check(`${who}: the breadcrumb leads back to the top`,
        textIs(page, '#file-crumbs [aria-current="location"]', 'Your files'));
    await check(`${who}: the top lists the folder again`, hasRow(page, '#file-list', 'data-path', `/${FOLDER}/`));

    await page.setViewportSize({ width: 390, height: 844 });
    await check(`${who}: on a phone-sized screen the file list fits (long names wrap)`, () => eventually(async () => {
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        return w <= 390 || `page is ${w} px wide`;
    }, 3000));
    await shotOf(page, '#files', '08-alice-files-phone.png');
    await page.setViewportSize({ width: 1100, height: 900 });

    // rename, with the keyboard; Escape closes the form unused
    const renameB = `${row('#file-list', 'data-path', '/' + FILE_B)} button[data-action="rename"]`;
    await page.focus(renameB);
    await page.keyboard.press('Enter');
    await check(`${who}: the rename form opens with the focus in it`, focusIs(page, 'rename-name'));
    await page.keyboard.press('Escape');
    await check(`${who}: Escape closes the rename form`, isVisible(page, '#rename-form', false));
    await check(`${who}: and gives the focus back to the Rename button`, async () =>
        (await page.evaluate(() => document.activeElement.getAttribute('data-action'))) === 'rename' ||
        `focus on ${await activeId(page)}`);
    await page.keyboard.press('Enter');
    await check(`${who}: the rename form opens again from the keyboard`, focusIs(page, 'rename-name'));
    await check(`${who}: it holds the current name`, async () =>
        (await page.inputValue('#rename-name')) === FILE_B || `holds '${await page.inputValue('#rename-name')}'`);
    await page.fill('#rename-name', FILE_A);
    await page.keyboard.press('Enter');
    await check(`${who}: renaming onto an existing name is refused`, textHas(page, '#files-error', 'is here already'));
    await page.fill('#rename-name', 'renamed.txt');
    await page.keyboard.press('Enter');
    await check(`${who}: renaming says so`, textIs(page, '#files-status', `Renamed ${FILE_B} to renamed.txt.`));
    await check(`${who}: the new name is listed`, hasRow(page, '#file-list', 'data-path', '/renamed.txt'));
    await check(`${who}: the old name is gone`, hasRow(page, '#file-list', 'data-path', '/' + FILE_B, false));
    await check(`${who}: WebDAV sees the rename`, async () => {
        const a = await dav('GET', `/dav/files/${who}/renamed.txt`, who, ALICE_PW);
        const b = await dav('GET', `/dav/files/${who}/${FILE_B}`, who, ALICE_PW);
        return (a.status === 200 && a.text === 'second version\n' && b.status === 404) ||
            `new ${a.status}, old ${b.status}`;
    });
    await shotOf(page, '#files', '09-alice-files.png');

    // delete: cancelled first, then confirmed
    const renamed = row('#file-list', 'data-path', '/renamed.txt');
    await deleteRow(page, renamed, false, `${who} (files, cancel)`);
    await check(`${who}: a cancelled delete keeps the file`, async () =>
        (await dav('GET', `/dav/files/${who}/renamed.txt`, who, ALICE_PW)).status === 200);
    await deleteRow(page, renamed, true, `${who} (files)`);
    await check(`${who}: a confirmed delete removes it from the list`,
        hasRow(page, '#file-list', 'data-path', '/renamed.txt', false));
    await check(`${who}: and from WebDAV`, async () => {
        const r = await dav('GET', `/dav/files/${who}/renamed.txt`, who, ALICE_PW);
        return r.status === 404 || `WebDAV GET ${r.status}`;
    });
    await deleteRow(page, row('#file-list', 'data-path', `/${FOLDER}/`), true, `${who} (folder)`);
    await check(`${who}: a deleted folder goes with its contents`, () => eventually(async () => {
        const r = await dav('GET', `/dav/files/${who}/${encodeURIComponent(FOLDER)}/inside.txt`, who, ALICE_PW);
        return r.status === 404 || `WebDAV GET ${r.status}`;
    }));
    await check(`${who}: the folder left the list`, hasRow(page, '#file-list', 'data-path', `/${FOLDER}/`, false));
}

const CONTACT = { name: 'Zoë <i>Example</i>', email: 'zoe@example.org', phone: '+49 171 555 0100' };
const PHONE_CONTACT_UID = 'phone-made-contact-1';

async function aliceContacts(page, who) {
    await check(`${who}: the Contacts section is shown`, isVisible(page, '#contacts'));
    await page.fill('#contact-name', CONTACT.name);
    await page.fill('#contact-email', CONTACT.email);
    await page.fill('#contact-phone', CONTACT.phone);
    await page.click('#contact-submit');
    await check(`${who}: adding a contact says so`, textIs(page, '#contacts-status', `Added ${CONTACT.name}.`));
    const item = '#contact-list li:has(.item-name:text-is("' + CONTACT.name + '"))';
    await check(`${who}: the contact is listed with email and phone`,
        textHas(page, item, `${CONTACT.email} · ${CONTACT.phone}`));
    await check(`${who}: markup in a contact's name made no elements`, async () =>
        (await page.locator('#contact-list .item-name *').count()) === 0);
    const id = await page.getAttribute(item, 'data-id', { timeout: 2000 }).catch(() => null);
    await check(`${who}: the contact is a vCard a phone gets over CardDAV`, async () => {
        if (!id) return 'no data-id on the listed contact';
        const r = await dav('GET', `/dav/addressbooks/${who}/contacts/${encodeURIComponent(id)}`, who, ALICE_PW);
        const t = unfold(r.text);
        const want = ['BEGIN:VCARD', `FN:${CONTACT.name}`, `EMAIL:${CONTACT.email}`, `TEL:${CONTACT.phone}`, 'UID:'];
        const missing = want.filter((w) => !t.includes(w));
        return (r.status === 200 && missing.length === 0) ||
            `CardDAV GET ${r.status}, lacks ${missing.join(', ')}: ${t.slice(0, 200)}`;
    });
    await check(`${who}: a CardDAV addressbook-query finds it by email`, async () => {
        const body = '<?xml version="1.0" encoding="utf-8"?>' +
            '<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">' +
            '<D:prop><D:getetag/><C:address-data/></D:prop>' +
            '<C:filter><C:prop-filter name="EMAIL"><C:text-match match-type="equals">' + CONTACT.email +
            '</C:text-match></C:prop-filter></C:filter></C:addressbook-query>';
        const r = await dav('REPORT', `/dav/addressbooks/${who}/contacts/`, who, ALICE_PW, body,
            { 'Content-Type': 'application/xml', Depth: '1' });
        return (r.status === 207 && r.text.includes(id) && r.text.includes('Example')) ||
            `REPORT ${r.status}: ${r.text.slice(0, 200)}`;
    });
    // and the other way: what a phone stores shows in the portal
    const vcard = ['BEGIN:VCARD', 'VERSION:3.0', `UID:${PHONE_CONTACT_UID}`, 'FN:Phone Person',
        'N:Person;Phone;;;', 'TEL;TYPE=CELL:+1 555 0199', 'END:VCARD', ''].join('\r\n');
    const put = await dav('PUT', `/dav/addressbooks/${who}/contacts/${PHONE_CONTACT_UID}.vcf`, who, ALICE_PW,
        vcard, { 'Content-Type': 'text/vcard; charset=utf-8' });
    await check(`${who}: a phone stores a contact over CardDAV`, () => put.status === 201 || `PUT ${put.status}`);
    await page.reload({ waitUntil: 'load' });
    await check(`${who}: the phone's contact shows in the portal`,
        textHas(page, row('#contact-list', 'data-id', `${PHONE_CONTACT_UID}.vcf`), 'Phone Person+1 555 0199'));
    await check(`${who}: contacts are listed by name`, async () => {
        const names = await page.locator('#contact-list .item-name').allTextContents();
        return names.join('|') === ['Phone Person', CONTACT.name].join('|') || `order: ${names.join(' | ')}`;
    });
    await shotOf(page, '#contacts', '10-alice-contacts.png');
    await deleteRow(page, row('#contact-list', 'data-id', `${PHONE_CONTACT_UID}.vcf`), true, `${who} (contacts)`);
    await check(`${who}: the deleted contact leaves the list`,
        hasRow(page, '#contact-list', 'data-id', `${PHONE_CONTACT_UID}.vcf`, false));
    await check(`${who}: and the phone no longer gets it`, async () => {
        const r = await dav('GET', `/dav/addressbooks/${who}/contacts/${PHONE_CONTACT_UID}.vcf`, who, ALICE_PW);
        return r.status === 404 || `CardDAV GET ${r.status}`;
    });
    await check(`${who}: after a delete the focus is on the list's heading`, focusIs(page, 'contact-list-h'));
}

// A CalDAV calendar-query REPORT over [start, end) (iCalendar UTC times).
async function calendarQuery(who, start, end) {
    const body = '<?xml version="1.0" encoding="utf-8"?>' +
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">' +
        '<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">' +
        `<C:comp-filter name="VEVENT"><C:time-range start="${start}" end="${end}"/></C:comp-filter>` +
        '</C:comp-filter></C:filter></C:calendar-query>';
    return dav('REPORT', `/dav/calendars/${who}/personal/`, who, ALICE_PW, body,
        { 'Content-Type': 'application/xml', Depth: '1' });
}

function icalUtc(d) {
    return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

async function aliceCalendar(page, who) {
    const summary = 'Dentist <b>not bold</b>';
    await check(`${who}: the Calendar section is shown`, isVisible(page, '#calendar'));
    await check(`${who}: the start is filled in with a time to change`, async () =>
        /^\d{4}-\d\d-\d\dT\d\d:00$/.test(await page.inputValue('#event-start')) || 'empty');
    // 10:30 local time (Europe/Berlin in this context), three days from now
    const when = await page.evaluate(() => {
        const d = new Date();
        d.setDate(d.getDate() + 3);
        d.setHours(10, 30, 0, 0);
        const p = (n) => String(n).padStart(2, '0');
        return { local: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T10:30`, utc: d.toISOString() };
    });
    await page.fill('#event-summary', summary);
    await page.fill('#event-start', when.local);
    await page.selectOption('#event-duration', 'PT1H30M');
    await page.click('#event-submit');
    await check(`${who}: adding an event says so`, textHas(page, '#calendar-status', `Added ${summary} on `));
    const item = '#event-list li:has(.item-name:text-is("' + summary + '"))';
    await check(`${who}: the event is listed`, isVisible(page, item));
    const id = await page.getAttribute(item, 'data-id', { timeout: 2000 }).catch(() => null);
    const start = new Date(when.utc);
    await check(`${who}: the event is an iCalendar VEVENT a phone gets over CalDAV, at the instant meant`, async () => {
        if (!id) return 'no data-id on the listed event';
        const r = await dav('GET', `/dav/calendars/${who}/personal/${encodeURIComponent(id)}`, who, ALICE_PW);
        const t = unfold(r.text);
        const want = ['BEGIN:VEVENT', `SUMMARY:${summary}`, `DTSTART:${icalUtc(start)}`, 'DURATION:PT1H30M',
            'UID:', 'DTSTAMP:'];
        const missing = want.filter((w) => !t.includes(w));
        return (r.status === 200 && missing.length === 0) ||
            `CalDAV GET ${r.status}, lacks ${missing.join(', ')}: ${t.slice(0, 300)}`;
    });
    await check(`${who}: local 10:30 was converted to UTC (the page's zone is Europe/Berlin)`, () =>
        !when.utc.includes('T10:30') || `stored as ${when.utc}`);
    await check(`${who}: a CalDAV time-range REPORT over its hour finds it`, async () => {
        const r = await calendarQuery(who, icalUtc(new Date(start.getTime() + 3600e3)),
            icalUtc(new Date(start.getTime() + 2 * 3600e3)));
        return (r.status === 207 && r.text.includes('Dentist')) || `REPORT ${r.status}: ${r.text.slice(0, 200)}`;
    });
    await check(`${who}: one after its end does not`, async () => {
        const r = await calendarQuery(who, icalUtc(new Date(start.getTime() + 2 * 3600e3)),
            icalUtc(new Date(start.getTime() + 3 * 3600e3)));
        return (r.status === 207 && !r.text.includes('Dentist')) || `REPORT ${r.status}: ${r.text.slice(0, 200)}`;
    });

    // events a phone made: a weekly one that began before, one beyond the 30 days
    const ics = (uid, title, dtstart, extra) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN',
        'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', `DTSTART:${dtstart}`, 'DURATION:PT1H',
        `SUMMARY:${title}`, ...extra, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const past = new Date(Date.now() - 10 * 86400e3);
    const far = new Date(Date.now() + 45 * 86400e3);
    for (const [uid, title, d, extra] of [['weekly-1', 'Choir practice', past, ['RRULE:FREQ=WEEKLY']],
        ['far-1', 'Far away', far, []]]) {
        const r = await dav('PUT', `/dav/calendars/${who}/personal/${uid}.ics`, who, ALICE_PW,
            ics(uid, title, icalUtc(d), extra), { 'Content-Type': 'text/calendar; charset=utf-8' });
        await check(`${who}: a phone stores '${title}' over CalDAV`, () => r.status === 201 || `PUT ${r.status}`);
    }
    await page.reload({ waitUntil: 'load' });
    await check(`${who}: a weekly event that began earlier is listed once, saying it repeats`, () =>
        eventually(async () => {
            const rows = await page.locator(row('#event-list', 'data-id', 'weekly-1.ics')).allTextContents();
            return (rows.length === 1 && rows[0].includes('Choir practice') && rows[0].includes('Repeats every week')) ||
                `rows: ${JSON.stringify(rows)}`;
        }));
    await check(`${who}: an event beyond the next 30 days is not listed`,
        hasRow(page, '#event-list', 'data-id', 'far-1.ics', false));
    await check(`${who}: the portal's event is still listed after a reload`, isVisible(page, item));
    await shotOf(page, '#calendar', '11-alice-calendar.png');
    await deleteRow(page, item, true, `${who} (calendar)`);
    await check(`${who}: the deleted event leaves the list`, () => eventually(async () =>
        (await page.locator(item).count()) === 0 || 'still listed'));
    await check(`${who}: and CalDAV no longer has it`, async () => {
        const r = await dav('GET', `/dav/calendars/${who}/personal/${encodeURIComponent(id || 'x')}`, who, ALICE_PW);
        return r.status === 404 || `CalDAV GET ${r.status}`;
    });
}

// alice signs in again and works with her files, contacts and calendar.
async function aliceOrganises(page) {
    await signIn(page, 'alice', ALICE_PW);
    if (!(await check('alice: signed in again', textIs(page, '#me-user', 'alice')))) return;
    await aliceFiles(page, 'alice');
    await aliceContacts(page, 'alice');
    await aliceCalendar(page, 'alice');
    await signOut(page, 'alice');
}

// What bob's portal must not show: anything of alice's.
async function bobSeesNothingOfAlice(page) {
    await check('bob: his Files section is shown', isVisible(page, '#files'));
    await check('bob: his files are empty: none of alice\'s', isVisible(page, '#files-empty'));
    await check('bob: his contacts are empty: none of alice\'s', isVisible(page, '#contacts-empty'));
    await check('bob: his calendar is empty: none of alice\'s', isVisible(page, '#events-empty'));
    await check('bob: no name of alice\'s files or contacts is anywhere in his page', async () => {
        const t = await page.evaluate(() => document.body.textContent);
        const seen = [FILE_A, LONG_NAME, CONTACT.name, CONTACT.email, 'Choir practice'].filter((s) => t.includes(s));
        return seen.length === 0 || `seen: ${seen.join(', ')}`;
    });
    await check('bob: CardDAV refuses him alice\'s address book', async () => {
        const r = await dav('PROPFIND', '/dav/addressbooks/alice/contacts/', 'bob', BOB_PW, undefined, { Depth: '1' });
        return (r.status === 403 || r.status === 404) || `PROPFIND ${r.status}`;
    });
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

        // a time zone away from UTC: the calendar must store the instant the user meant
        const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 },
            timezoneId: 'Europe/Berlin', acceptDownloads: true });
        ctx.setDefaultTimeout(WAIT_MS);
        const page = await ctx.newPage();
        const problems = [];
        const foreign = [];
        // CSP violations as the page sees them (chromium also logs them as console errors)
        await page.exposeFunction('__mgCspViolation', (v) => problems.push(`CSP violation: ${v}`));
        await page.addInitScript(() => {
            document.addEventListener('securitypolicyviolation', (e) => {
                window.__mgCspViolation(`${e.violatedDirective} ${e.blockedURI}`);
            });
        });
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
                await aliceOrganises(page);
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
