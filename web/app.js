/*
 * app.js - the welcome portal: node information, the addresses to put into
 * apps, sign-up, sign-in, a small mail client, and the user's files, contacts
 * and calendar, all over the REST API (api/openapi.json). No dependencies, no
 * build step.
 *
 * Everything that comes from the server or from another user (node name, user
 * names, subjects, message bodies, file names, error details) reaches the page
 * through textContent or element attributes that cannot run code, never through
 * innerHTML.
 *
 * Session (DESIGN.md): the page logs in with "session": "cookie", so the
 * token lives in an HttpOnly, SameSite=Strict cookie that no script can read;
 * the page keeps only the CSRF token the login answer (or GET /me after a
 * reload) gives, in memory, and sends it as X-CSRF-Token on every request
 * that changes something. Another site can make the browser send the cookie
 * only without that header, which the API refuses.
 */
(function () {
    'use strict';

    var API = '/api/v1';
    var PAGE_SIZE = 50;
    var LIST_PAGE = 200;   /* the API's largest page (contacts, events) */
    var LIST_PAGES = 10;   /* pages of contacts or events read at most, then the list stops */
    var CALENDAR_DAYS = 30;
    var PRODID = '-//meshgate//welcome portal//EN';

    /* Used while GET /node has not answered, or if it fails. */
    var DEFAULT_PATHS = {
        server: '/',
        webdav: '/dav/files/{user}/',
        caldav: '/dav/calendars/{user}/',
        carddav: '/dav/addressbooks/{user}/',
        principals: '/dav/principals/{user}/'
    };

    var state = {
        node: null,
        paths: DEFAULT_PATHS,
        csrf: null, /* X-CSRF-Token of the session; null when signed out */
        user: null,
        me: null,
        mailbox: 'Inbox',
        next: null,
        current: null, /* the message on view */
        epoch: 0, /* counts sign-ins and sign-outs: late answers of an older one are dropped */
        folder: '/', /* the folder on view, "/" being the root of the user's files */
        filesNext: null,
        renaming: null, /* the file or folder the rename form is for */
        book: null, /* the address book shown (its id) */
        calendar: null /* the calendar shown (its id) */
    };

    /* ---- small DOM helpers ---------------------------------------------------- */

    function $(id) {
        return document.getElementById(id);
    }

    /* el('li', {className: 'x'}, 'text', child): children are nodes or plain text. */
    function el(tag, props) {
        var node = document.createElement(tag);
        var key;
        for (key in props || {}) {
            if (Object.prototype.hasOwnProperty.call(props, key)) {
                if (key === 'className' || key === 'type' || key === 'id') {
                    node[key] = props[key];
                } else {
                    node.setAttribute(key, props[key]);
                }
            }
        }
        for (var i = 2; i < arguments.length; i++) {
            var c = arguments[i];
            if (c === null || c === undefined) {
                continue;
            }
            node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
        }
        return node;
    }

    function clear(node) {
        while (node.firstChild) {
            node.removeChild(node.firstChild);
        }
    }

    function show(node, on) {
        node.hidden = !on;
    }

    /* Shows MSG in the element (an error or status line), or hides it when empty. */
    function say(node, msg) {
        node.textContent = msg || '';
        show(node, !!msg);
    }

    function formatDate(iso) {
        if (!iso) {
            return '';
        }
        var d = new Date(iso);
        return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
    }

    function formatSize(n) {
        var units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
        var i = 0;
        n = Number(n) || 0;
        while (n >= 1024 && i < units.length - 1) {
            n /= 1024;
            i++;
        }
        return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
    }

    /* A random (version 4) UUID; crypto.randomUUID exists only in secure contexts (HTTPS). */
    function uuid() {
        var b = new Uint8Array(16);
        crypto.getRandomValues(b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        var h = Array.prototype.map.call(b, function (x) {
            return (x + 0x100).toString(16).slice(1);
        }).join('');
        return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
    }

    /* A Date as iCalendar's UTC date-time in jCal form: 2026-01-02T10:00:00Z. */
    function utcStamp(d) {
        return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    }

    /* ---- the REST API -------------------------------------------------------- */

    function ApiError(status, type, message) {
        this.name = 'ApiError';
        this.status = status;
        this.type = type || '';
        this.message = message;
    }
    ApiError.prototype = Object.create(Error.prototype);

    /* Resolves to the JSON body of RES, or null when it has none. */
    function readJson(res) {
        var type = res.headers.get('Content-Type') || '';
        if (res.status === 204 || type.indexOf('json') < 0) {
            return Promise.resolve(null);
        }
        return res.json().catch(function () {
            return null;
        });
    }

    /* The ApiError of a failed answer RES with the parsed body DATA (a problem, RFC 9457). */
    function failure(res, data) {
        var msg = (data && (data.detail || data.title)) ||
            'the node answered ' + res.status + ' ' + res.statusText;
        return new ApiError(res.status, data && data.type, msg);
    }

    function unreachable(err) {
        throw new ApiError(0, 'network',
            'could not reach this node (' + (err && err.message ? err.message : err) + ')');
    }

    /*
     * api(method, path, body, headers): calls the API in the session (its
     * cookie goes along by itself; a method that changes something carries the
     * CSRF token). BODY is sent as JSON, except a Blob (a File), which goes as
     * it is with its own type (a file upload); HEADERS are added. Resolves to
     * the parsed JSON body (null for 204); rejects with an ApiError whose
     * message is the problem's `detail` (RFC 9457), which the API writes for people.
     */
    function api(method, path, body, headers) {
        headers = Object.assign({Accept: 'application/json, application/problem+json'}, headers);
        var init = {method: method, headers: headers, cache: 'no-store', credentials: 'same-origin'};
        if (body instanceof Blob) {
            init.body = body;
        } else if (body !== undefined) {
            headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        if (state.csrf && method !== 'GET' && method !== 'HEAD') {
            headers['X-CSRF-Token'] = state.csrf;
        }
        return fetch(API + path, init).then(
            function (res) {
                return readJson(res).then(function (data) {
                    if (res.ok) {
                        return data;
                    }
                    throw failure(res, data);
                });
            }, unreachable);
    }

    /*
     * Lists a page of the API list O.path (PAGE_SIZE items) in the element
     * O.list: after what is there when O.more (from the cursor O.next), else
     * in place of it; O.item(x) makes an entry. The answer is dropped when
     * O.wanted() says the user moved on meanwhile, or the session changed;
     * else O.keep(cursor of the next page, or null), and the elements
     * O.moreId and O.emptyId show when more follows and when the list is empty.
     */
    function loadPage(o) {
        var epoch = state.epoch;
        var q = (o.path.indexOf('?') < 0 ? '?' : '&') + 'limit=' + PAGE_SIZE;
        if (o.more && o.next) {
            q += '&cursor=' + encodeURIComponent(o.next);
        }
        return api('GET', o.path + q).then(function (list) {
            if (epoch !== state.epoch || !o.wanted()) {
                return;
            }
            var ul = $(o.list);
            if (!o.more) {
                clear(ul);
            }
            (list.items || []).forEach(function (x) {
                ul.appendChild(o.item(x));
            });
            o.keep(list.next || null);
            show($(o.moreId), !!list.next);
            show($(o.emptyId), ul.childNodes.length === 0);
        });
    }

    /*
     * Resolves to the items of every page of the list at PATH (LIST_PAGES of
     * them at most: the rest is left out).
     */
    function fetchAll(path) {
        var items = [];
        var sep = path.indexOf('?') < 0 ? '?' : '&';
        function page(cursor, n) {
            var q = sep + 'limit=' + LIST_PAGE + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
            return api('GET', path + q).then(function (list) {
                items = items.concat(list.items || []);
                return list.next && n < LIST_PAGES ? page(list.next, n + 1) : items;
            });
        }
        return page(null, 1);
    }

    /*
     * Fetches the API resource PATH in the session and hands it to the browser
     * as a download named NAME: the bytes are never shown in the page, and
     * their type is hidden from the browser so that it cannot render them.
     */
    function saveDownload(path, name) {
        return fetch(API + path, {cache: 'no-store', credentials: 'same-origin'})
            .then(function (res) {
                if (!res.ok) {
                    return readJson(res).then(function (data) {
                        throw failure(res, data);
                    });
                }
                return res.blob();
            }, unreachable)
            .then(function (blob) {
                var url = URL.createObjectURL(new Blob([blob], {type: 'application/octet-stream'}));
                var link = el('a', {href: url, download: name});
                document.body.appendChild(link);
                link.click();
                document.body.removeChild(link);
                setTimeout(function () {
                    URL.revokeObjectURL(url);
                }, 10000);
            });
    }

    /* Capitalises the first letter of an API detail for display as a sentence. */
    function sentence(msg) {
        msg = String(msg || 'something went wrong');
        return msg.charAt(0).toUpperCase() + msg.slice(1) + (/[.!?]$/.test(msg) ? '' : '.');
    }

    /*
     * Handles an error of a call made while signed in: a 401 means the session
     * ended (expired, revoked, or the mail key is missing), so the page signs
     * out locally and says why. Returns true when it did.
     */
    function sessionEnded(err) {
        if (err && err.status === 401 && state.csrf) {
            endSession('Your session has ended (' + err.message + '). Please sign in again.');
            return true;
        }
        return false;
    }

    /* An error handler: shows a failed call's problem in the element ID, or ends the session. */
    function showsErrorIn(id) {
        return function (e) {
            if (!sessionEnded(e)) {
                say($(id), sentence(e.message));
            }
        };
    }

    /* Clears a section's status and error lines. */
    function quiet(section) {
        say($(section + '-error'), '');
        say($(section + '-status'), '');
    }

    /*
     * Asks QUESTION (DETAIL saying what follows) in the page's modal dialog,
     * which keeps the focus and answers "no" to Escape. Resolves to true when
     * the user confirms; the focus goes back where it was.
     */
    function confirmDelete(question, detail) {
        var dlg = $('confirm-dialog');
        if (typeof dlg.showModal !== 'function') {
            return Promise.resolve(window.confirm(question + ' ' + detail));
        }
        var back = document.activeElement;
        $('confirm-h').textContent = question;
        $('confirm-text').textContent = detail;
        dlg.returnValue = '';
        return new Promise(function (resolve) {
            dlg.addEventListener('close', function done() {
                dlg.removeEventListener('close', done);
                if (back && back.focus && document.body.contains(back)) {
                    back.focus();
                }
                resolve(dlg.returnValue === 'yes');
            });
            dlg.showModal();
            $('confirm-no').focus();
        });
    }

    /*
     * Asks before deleting NAME (WHAT says what goes, and where), then DELETEs
     * the API resource PATH and says so in SECTION's status line; RELOAD
     * lists the section again and the focus goes to the element FOCUS_ID.
     */
    function deleteAfterAsking(section, name, what, path, reload, focusId) {
        quiet(section);
        confirmDelete('Delete “' + name + '”?', what + ' This cannot be undone.').then(function (yes) {
            if (!yes) {
                return null;
            }
            return api('DELETE', path).then(function () {
                say($(section + '-status'), 'Deleted ' + name + '.');
                return reload().then(function () {
                    $(focusId).focus();
                });
            });
        }).catch(showsErrorIn(section + '-error'));
    }

    /* ---- addresses ----------------------------------------------------------- */

    function placeholder(text) {
        return el('var', null, text);
    }

    /*
     * The pieces of an address: strings and <var> placeholders for what this
     * page does not know (the user's name when signed out).
     */
    function urlPieces(key, scheme, user) {
        var path = state.paths[key] || DEFAULT_PATHS[key] || '/';
        var proto = location.protocol === 'https:' ? 'https' : 'http';
        if (scheme === 'dav') {
            proto = proto === 'https' ? 'davs' : 'dav';
        } else if (scheme === 'webdav') {
            proto = proto === 'https' ? 'webdavs' : 'webdav';
        }
        var pieces = [proto + '://' + location.host];
        var parts = path.split('{user}');
        for (var i = 0; i < parts.length; i++) {
            if (i > 0) {
                pieces.push(user ? encodeURIComponent(user) : placeholder('your-name'));
            }
            pieces.push(parts[i]);
        }
        return pieces;
    }

    /* Fills one <code class="url"> from its data-key, data-scheme and data-template. */
    function renderUrl(code, user) {
        var url = urlPieces(code.getAttribute('data-key'), code.getAttribute('data-scheme'), user);
        var template = code.getAttribute('data-template') || '{url}';
        var out = [];
        template.split(/(\{url\}|\{user\})/).forEach(function (part) {
            if (part === '{url}') {
                out = out.concat(url);
            } else if (part === '{user}') {
                out.push(user || placeholder('your-name'));
            } else if (part) {
                out.push(part);
            }
        });
        clear(code);
        out.forEach(function (p) {
            code.appendChild(typeof p === 'string' ? document.createTextNode(p) : p);
        });
        code.normalize();
    }

    function renderUrls() {
        var codes = document.querySelectorAll('code.url');
        for (var i = 0; i < codes.length; i++) {
            renderUrl(codes[i], state.user);
        }
        $('connect-placeholder-note').textContent = state.user
            ? 'They are filled in for you, ' + state.user + '.'
            : 'Replace “your-name” with your user name; sign in below and they are filled in for you.';
    }

    /* ---- node information ---------------------------------------------------- */

    function renderNode(node) {
        state.node = node;
        var paths = {server: '/'};
        var urls = node.urls || {};
        Object.keys(DEFAULT_PATHS).forEach(function (k) {
            if (k !== 'server') {
                paths[k] = typeof urls[k] === 'string' ? urls[k] : DEFAULT_PATHS[k];
            }
        });
        state.paths = paths;
        var name = node.name || 'meshgate';
        $('node-name').textContent = name;
        document.title = name + ' · meshgate';
        var meta = 'meshgate ' + (node.version || '') + ' · node ' + (node.node_id || '?');
        $('node-meta').textContent = meta;
        $('footer-version').textContent = node.version || '';
        var policy = $('signup-policy');
        if (node.signup === 'open') {
            policy.textContent = 'Anyone may create an account here: see “Create an account” below.';
        } else if (node.signup === 'invite') {
            policy.textContent = 'You can create an account here with an invite code from a member ' +
                'who runs this node: see “Create an account” below.';
        } else {
            policy.textContent = 'You need an account. New accounts are not open here: ask the ' +
                'people who run this node for one.';
        }
        show($('signup-form'), node.signup === 'open' || node.signup === 'invite');
        show($('signup-invite-row'), node.signup === 'invite');
        $('signup-invite').required = node.signup === 'invite';
        renderUrls();
    }

    function loadNode() {
        return api('GET', '/node').then(renderNode, function (err) {
            say($('node-error'), 'This page could not read the node’s information: ' +
                err.message + '. The addresses below still work.');
        });
    }

    /* ---- sessions ------------------------------------------------------------ */

    function beginSession(tok) {
        state.csrf = tok.csrf_token;
        state.user = tok.user;
        return enterSignedIn(true);
    }

    var SIGNED_IN_SECTIONS = ['signed-in', 'mail', 'files', 'contacts', 'calendar'];

    /*
     * Empties every view of an account's data: nothing of one account may stay
     * on screen for the next one who signs in in this tab, and answers still
     * on their way for the last one are dropped (state.epoch).
     */
    function resetAccountViews() {
        state.epoch++;
        var dlg = $('confirm-dialog');
        if (dlg.open) {
            dlg.close();
        }
        resetMail();
        resetFiles();
        resetContacts();
        resetCalendar();
    }

    function showSignedIn(on) {
        SIGNED_IN_SECTIONS.forEach(function (id) {
            show($(id), on);
        });
        show($('signed-out'), !on);
    }

    /* Forgets the session locally and shows the sign-in forms, with NOTICE if given. */
    function endSession(notice) {
        state.csrf = null;
        state.user = null;
        state.me = null;
        state.current = null;
        resetAccountViews();
        showSignedIn(false);
        say($('account-notice'), notice || '');
        renderUrls();
    }

    /* Shows the signed-in page once GET /me answers; quiet: a failure means
     * "not signed in" (the first visit), said by nothing but the sign-in form. */
    function enterSignedIn(focus, quiet) {
        return api('GET', '/me').then(function (me) {
            state.csrf = (me.session && me.session.csrf_token) || state.csrf;
            state.me = me;
            state.user = me.user;
            $('me-user').textContent = me.user;
            $('me-address').textContent = me.mail_address || '';
            show($('me-address-wrap'), !!me.mail_address);
            say($('account-notice'), '');
            showSignedIn(true);
            renderUrls();
            if (focus) {
                $('account-h').focus();
            }
            resetAccountViews();
            return Promise.all([loadMail(), openFolder('/', false), loadContacts(), loadEvents()]);
        }, function (err) {
            if (quiet) {
                endSession('');
            } else if (!sessionEnded(err)) {
                endSession('Could not load your account: ' + err.message + '.');
            }
        });
    }

    function withBusy(button, promise) {
        button.disabled = true;
        return promise.then(function (v) {
            button.disabled = false;
            return v;
        }, function (e) {
            button.disabled = false;
            throw e;
        });
    }

    function onSignIn(ev) {
        ev.preventDefault();
        var err = $('signin-error');
        var user = $('signin-user').value.trim().toLowerCase();
        var password = $('signin-password').value;
        if (!user || !password) {
            say(err, 'Please give your user name and your password.');
            return;
        }
        say(err, '');
        withBusy($('signin-submit'), api('POST', '/login', {user: user, password: password, session: 'cookie'}))
            .then(function (tok) {
                $('signin-password').value = '';
                return beginSession(tok);
            })
            .catch(function (e) {
                say(err, sentence(e.message));
                $('signin-password').focus();
            });
    }

    function onSignUp(ev) {
        ev.preventDefault();
        var err = $('signup-error');
        var body = {
            user: $('signup-user').value.trim(),
            password: $('signup-password').value,
            session: 'cookie'
        };
        if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(body.user)) {
            say(err, 'A user name is 1 to 64 lower-case letters, digits, dots, dashes or ' +
                'underscores, starting with a letter or digit.');
            $('signup-user').focus();
            return;
        }
        if (body.password.length < 8) {
            say(err, 'The password needs at least 8 characters.');
            $('signup-password').focus();
            return;
        }
        if (state.node && state.node.signup === 'invite') {
            body.invite = $('signup-invite').value.trim();
        }
        say(err, '');
        withBusy($('signup-submit'), api('POST', '/signup', body))
            .then(function (tok) {
                $('signup-password').value = '';
                $('signup-invite').value = '';
                return beginSession(tok);
            })
            .catch(function (e) {
                say(err, sentence(e.message));
            });
    }

    function onSignOut() {
        var done = function () {
            endSession('You have signed out.');
            $('account-h').focus();
        };
        /* The token is revoked on every node and the cookie cleared; locally the
         * session is forgotten in any case. */
        api('POST', '/logout').then(done, done);
    }

    /* ---- mail ---------------------------------------------------------------- */

    function mbPath(name) {
        return '/mail/mailboxes/' + encodeURIComponent(name);
    }

    var mailError = showsErrorIn('mail-error');

    /*
     * Empties the mail view: nothing of one account may stay on screen for the
     * next one who signs in in this tab.
     */
    function resetMail() {
        state.mailbox = 'Inbox';
        state.next = null;
        state.current = null;
        $('mailbox-title').textContent = 'Inbox';
        clear($('messages'));
        clear($('mailboxes'));
        show($('messages-more'), false);
        show($('messages-empty'), false);
        say($('mail-error'), '');
        say($('mail-status'), '');
        say($('compose-error'), '');
        ['compose-to', 'compose-subject', 'compose-text'].forEach(function (id) {
            $(id).value = '';
        });
        show($('compose-form'), false);
        ['msg-subject', 'msg-from', 'msg-to', 'msg-cc', 'msg-date', 'msg-text'].forEach(function (id) {
            $(id).textContent = '';
        });
        clear($('msg-attachments'));
        clear($('msg-delivery'));
        show($('message-view'), false);
        show($('message-list-wrap'), true);
    }

    function loadMail() {
        say($('mail-error'), '');
        return Promise.all([loadMailboxes(), loadMessages(false)]).catch(mailError);
    }

    function loadMailboxes() {
        return api('GET', '/mail/mailboxes').then(function (list) {
            var ul = $('mailboxes');
            clear(ul);
            (list.items || []).forEach(function (mb) {
                var label = el('span', {className: 'mb-name'}, mb.name);
                var count = null;
                if (mb.unread > 0) {
                    count = el('span', {className: 'count'}, String(mb.unread),
                        el('span', {className: 'visually-hidden'}, ' unread'));
                }
                var b = el('button', {type: 'button', className: 'mailbox', 'data-mailbox': mb.name},
                    label, count);
                if (mb.name === state.mailbox) {
                    b.setAttribute('aria-current', 'true');
                }
                b.addEventListener('click', function () {
                    openMailbox(mb.name);
                });
                ul.appendChild(el('li', null, b));
            });
        });
    }

    function openMailbox(name) {
        state.mailbox = name;
        $('mailbox-title').textContent = name;
        var buttons = document.querySelectorAll('#mailboxes button');
        for (var i = 0; i < buttons.length; i++) {
            if (buttons[i].getAttribute('data-mailbox') === name) {
                buttons[i].setAttribute('aria-current', 'true');
            } else {
                buttons[i].removeAttribute('aria-current');
            }
        }
        closeMessage();
        say($('mail-error'), '');
        loadMessages(false).catch(mailError);
    }

    function messageItem(m) {
        var unread = !(m.flags && m.flags.seen);
        var who = state.mailbox === 'Sent' || state.mailbox === 'Drafts'
            ? 'To: ' + (m.to || []).join(', ')
            : (m.from || '(unknown sender)');
        var subject = m.readable === false
            ? '(sealed to an older key of your account: unreadable)'
            : (m.subject || '(no subject)');
        var b = el('button', {type: 'button', className: 'message' + (unread ? ' unread' : ''),
            'data-id': m.id},
            unread ? el('span', {className: 'visually-hidden'}, 'Unread: ') : null,
            el('span', {className: 'subject'}, subject),
            el('span', {className: 'from'}, who),
            el('span', {className: 'date'}, formatDate(m.received_at || m.date)),
            m.snippet ? el('span', {className: 'snippet'}, m.snippet) : null);
        b.disabled = m.readable === false;
        b.addEventListener('click', function () {
            openMessage(m.id);
        });
        return el('li', null, b);
    }

    /* Lists the mailbox's messages, newest first; MORE appends the next page. */
    function loadMessages(more) {
        var box = state.mailbox;
        return loadPage({path: mbPath(box) + '/messages', more: more, next: state.next,
            list: 'messages', item: messageItem, moreId: 'messages-more', emptyId: 'messages-empty',
            wanted: function () {
                return box === state.mailbox;
            },
            keep: function (next) {
                state.next = next;
            }});
    }

    function fillList(id, values) {
        var node = $(id);
        node.textContent = (values || []).join(', ');
    }

    function openMessage(id) {
        say($('mail-error'), '');
        var box = state.mailbox;
        api('GET', mbPath(box) + '/messages/' + encodeURIComponent(id)).then(function (m) {
            state.current = m;
            show($('compose-form'), false);
            $('msg-subject').textContent = m.subject || '(no subject)';
            $('msg-from').textContent = m.from || '';
            fillList('msg-to', m.to);
            fillList('msg-cc', m.cc);
            show($('msg-cc-label'), !!(m.cc && m.cc.length));
            show($('msg-cc'), !!(m.cc && m.cc.length));
            $('msg-date').textContent = formatDate(m.date || m.received_at);
            var text = m.text;
            if (!text && m.html) {
                /* Shown as text only: a parsed, inert document runs nothing and loads nothing. */
                text = new DOMParser().parseFromString(m.html, 'text/html').body.textContent;
            }
            $('msg-text').textContent = text || '';
            var atts = $('msg-attachments');
            clear(atts);
            (m.attachments || []).forEach(function (a) {
                var b = el('button', {type: 'button', className: 'linklike'},
                    a.filename || 'attachment ' + a.index);
                b.addEventListener('click', function () {
                    download(box, m.id, a);
                });
                atts.appendChild(el('li', null, b, ' ' + (a.content_type || '') + ', ' +
                    (a.size || 0) + ' bytes'));
            });
            show($('msg-attachments-wrap'), atts.childNodes.length > 0);
            var del = $('msg-delivery');
            clear(del);
            (m.delivery || []).forEach(function (d) {
                del.appendChild(el('li', null, d.to + ': ' + d.status +
                    (d.reason ? ' (' + d.reason + ')' : '')));
            });
            show($('msg-delivery-wrap'), del.childNodes.length > 0);
            show($('message-list-wrap'), false);
            show($('message-view'), true);
            $('msg-subject').focus();
            if (!(m.flags && m.flags.seen)) {
                return markSeen(box, m.id);
            }
        }).catch(mailError);
    }

    function markSeen(box, id) {
        return api('PATCH', mbPath(box) + '/messages/' + encodeURIComponent(id),
            {flags: {seen: true}}).then(function () {
            var b = document.querySelector('#messages button[data-id="' + CSS.escape(id) + '"]');
            if (b) {
                b.classList.remove('unread');
                var hint = b.querySelector('.visually-hidden');
                if (hint) {
                    b.removeChild(hint);
                }
            }
            return loadMailboxes();
        });
    }

    function closeMessage() {
        state.current = null;
        show($('message-view'), false);
        show($('message-list-wrap'), true);
    }

    /* Fetches an attachment in the session and saves it; never shown in the page. */
    function download(box, id, a) {
        saveDownload(mbPath(box) + '/messages/' + encodeURIComponent(id) + '/attachments/' +
            encodeURIComponent(a.index), a.filename || 'attachment').catch(mailError);
    }

    function openCompose(to, subject, inReplyTo) {
        closeMessage();
        say($('compose-error'), '');
        say($('mail-status'), '');
        $('compose-to').value = to || '';
        $('compose-subject').value = subject || '';
        $('compose-text').value = '';
        $('compose-form').setAttribute('data-in-reply-to', inReplyTo || '');
        show($('compose-form'), true);
        (to ? $('compose-text') : $('compose-to')).focus();
    }

    function closeCompose() {
        show($('compose-form'), false);
    }

    /* "Alice <alice@meshgate>" -> "alice@meshgate" */
    function bareAddress(from) {
        var m = /<([^>]+)>/.exec(from || '');
        return m ? m[1] : (from || '').trim();
    }

    function onReply() {
        var m = state.current;
        if (!m) {
            return;
        }
        var subject = m.subject || '';
        if (!/^re:/i.test(subject)) {
            subject = 'Re: ' + subject;
        }
        openCompose(bareAddress(m.from), subject, (m.message_id || '').replace(/^<|>$/g, ''));
    }

    function onSend(ev) {
        ev.preventDefault();
        var err = $('compose-error');
        var to = $('compose-to').value.split(/[,;\s]+/).filter(function (s) {
            return s.length > 0;
        });
        if (to.length === 0) {
            say(err, 'Please name at least one recipient.');
            $('compose-to').focus();
            return;
        }
        var body = {to: to, subject: $('compose-subject').value, text: $('compose-text').value};
        var irt = $('compose-form').getAttribute('data-in-reply-to');
        if (irt) {
            body.in_reply_to = irt;
        }
        say(err, '');
        withBusy($('compose-send'), api('POST', '/mail/send', body)).then(function (res) {
            var delivery = res && res.delivery ? res.delivery : [];
            var failed = delivery.filter(function (d) {
                return d.status !== 'delivered';
            });
            var ok = delivery.filter(function (d) {
                return d.status === 'delivered';
            });
            if (ok.length === 0 && failed.length > 0) {
                /* nothing went out: keep the form so the user can fix the names */
                say(err, 'Not delivered: ' + failed.map(function (d) {
                    return d.to + (d.reason ? ' (' + d.reason + ')' : '');
                }).join('; ') + '. Correct the names and send again.');
                return;
            }
            closeCompose();
            var msg = 'Sent to ' + ok.map(function (d) {
                return d.to;
            }).join(', ') + '.';
            if (failed.length) {
                msg += ' Not delivered: ' + failed.map(function (d) {
                    return d.to + (d.reason ? ' (' + d.reason + ')' : '');
                }).join('; ') + '.';
            }
            say($('mail-status'), msg);
            return loadMail();
        }).catch(function (e) {
            if (!sessionEnded(e)) {
                say(err, sentence(e.message));
            }
        });
    }

    /* ---- files --------------------------------------------------------------- */

    var filesError = showsErrorIn('files-error');

    /* "/a b/c+d" -> "/a%20b/c%2Bd": a path for ?path= ('+' there is a space). */
    function filesQuery(route, path) {
        return '/files' + route + '?path=' + path.split('/').map(encodeURIComponent).join('/');
    }

    /* The parent folder of a file or folder path: "/a/b/" and "/a/b" -> "/a/". */
    function parentOf(path) {
        return path.replace(/[^/]+\/?$/, '');
    }

    /* Returns why NAME cannot name a file or folder, or '' when it can. */
    function badName(name) {
        if (!name) {
            return 'Please give a name.';
        }
        if (name.indexOf('/') >= 0 || name === '.' || name === '..') {
            return 'A name cannot hold “/”, nor be “.” or “..”.';
        }
        return '';
    }

    function resetFiles() {
        state.folder = '/';
        state.filesNext = null;
        clear($('file-list'));
        clear($('file-crumbs'));
        show($('files-more'), false);
        show($('files-empty'), false);
        quiet('files');
        closeRename();
        $('upload-input').value = '';
        $('upload-replace').checked = false;
        $('folder-name').value = '';
        $('folder-title').textContent = 'Your files';
    }

    function folderButton(label, path) {
        var b = el('button', {type: 'button', className: 'linklike'}, label);
        b.addEventListener('click', function () {
            quiet('files');
            openFolder(path, true);
        });
        return b;
    }

    /* The breadcrumb: every folder from the root down to the one on view. */
    function renderCrumbs() {
        var ol = $('file-crumbs');
        var names = state.folder.split('/').filter(Boolean);
        var path = '/';
        clear(ol);
        for (var i = -1; i < names.length; i++) {
            var label = i < 0 ? 'Your files' : names[i];
            path += i < 0 ? '' : names[i] + '/';
            ol.appendChild(el('li', null, i === names.length - 1
                ? el('span', {'aria-current': 'location'}, label)
                : folderButton(label, path)));
        }
        $('folder-title').textContent = names.length ? names[names.length - 1] : 'Your files';
    }

    /* A button named TEXT that says which item (NAME) it acts on to screen readers too. */
    function actionButton(text, name, fn) {
        var b = el('button', {type: 'button', className: 'secondary small',
            'data-action': text.toLowerCase()}, text,
            el('span', {className: 'visually-hidden'}, ' ' + name));
        b.addEventListener('click', fn);
        return b;
    }

    function fileItem(f) {
        var folder = f.type === 'folder';
        var name = folder ? folderButton(f.name, f.path)
            : el('span', null, f.name);
        name.className += ' item-name ' + (folder ? 'folder' : 'file');
        var meta = folder ? 'Folder'
            : formatSize(f.size) + (f.content_type ? ' · ' + f.content_type : '');
        var actions = el('span', {className: 'actions'},
            folder ? null : actionButton('Download', f.name, function () {
                quiet('files');
                saveDownload(filesQuery('/content', f.path), f.name).catch(filesError);
            }),
            actionButton('Rename', f.name, function () {
                openRename(f);
            }),
            actionButton('Delete', f.name, function () {
                deleteFile(f);
            }));
        return el('li', {'data-path': f.path}, name,
            el('span', {className: 'item-meta'}, meta + ' · changed ' + formatDate(f.modified)),
            actions);
    }

    /* Lists the folder on view, in name order; MORE appends the next page. */
    function loadFiles(more) {
        var folder = state.folder;
        return loadPage({path: filesQuery('', folder), more: more, next: state.filesNext,
            list: 'file-list', item: fileItem, moreId: 'files-more', emptyId: 'files-empty',
            wanted: function () {
                return folder === state.folder;
            },
            keep: function (next) {
                state.filesNext = next;
            }});
    }

    /* Shows the folder PATH; FOCUS moves the focus to its title once listed. */
    function openFolder(path, focus) {
        state.folder = path;
        state.filesNext = null;
        closeRename();
        renderCrumbs();
        return loadFiles(false).then(function () {
            if (focus) {
                $('folder-title').focus();
            }
        }).catch(filesError);
    }

    /* Uploads the chosen files one after another into the folder on view. */
    function onUpload(ev) {
        ev.preventDefault();
        var files = Array.prototype.slice.call($('upload-input').files || []);
        var folder = state.folder;
        var headers = $('upload-replace').checked ? {} : {'If-None-Match': '*'};
        var done = 0;
        quiet('files');
        if (files.length === 0) {
            say($('files-error'), 'Please choose one or more files first.');
            $('upload-input').focus();
            return;
        }
        function next() {
            if (done === files.length) {
                return null;
            }
            var f = files[done];
            say($('files-status'), 'Uploading ' + (done + 1) + ' of ' + files.length + ': ' +
                f.name + ' (' + formatSize(f.size) + ')…');
            return api('PUT', filesQuery('/content', folder + f.name), f, headers).then(function () {
                done++;
                return next();
            }, function (e) {
                if (e.status === 412) {
                    e.message = 'a file named “' + f.name + '” is here already: tick “Replace ' +
                        'files of the same name” to replace it';
                }
                throw e;
            });
        }
        withBusy($('upload-submit'), Promise.resolve().then(next)).then(function () {
            $('upload-input').value = '';
            say($('files-status'), 'Uploaded ' + (files.length === 1 ? files[0].name
                : files.length + ' files') + '.');
        }, function (e) {
            say($('files-status'), done ? 'Uploaded ' + done + ' of ' + files.length + ' files.' : '');
            filesError(e);
        }).then(function () {
            return state.csrf && folder === state.folder ? loadFiles(false) : null;
        }).catch(filesError);
    }

    function onMakeFolder(ev) {
        ev.preventDefault();
        var name = $('folder-name').value.trim();
        var why = badName(name);
        quiet('files');
        if (why) {
            say($('files-error'), why);
            $('folder-name').focus();
            return;
        }
        withBusy($('folder-submit'), api('POST', '/files/folders', {path: state.folder + name + '/'}))
            .then(function () {
                $('folder-name').value = '';
                say($('files-status'), 'Made the folder ' + name + '.');
                return loadFiles(false);
            })
            .catch(filesError);
    }

    function openRename(f) {
        quiet('files');
        state.renaming = f;
        $('rename-h').textContent = 'Rename “' + f.name + '”';
        $('rename-name').value = f.name;
        show($('rename-form'), true);
        $('rename-name').focus();
        /* select the name without its extension, as file managers do */
        var dot = f.type === 'folder' ? -1 : f.name.lastIndexOf('.');
        $('rename-name').setSelectionRange(0, dot > 0 ? dot : f.name.length);
    }

    function closeRename() {
        state.renaming = null;
        show($('rename-form'), false);
    }

    /* Closes the rename form unused; the focus goes back to the item's Rename button. */
    function cancelRename() {
        var f = state.renaming;
        closeRename();
        var row = f && document.querySelector('#file-list li[data-path="' + CSS.escape(f.path) + '"]');
        (row ? row.querySelector('button[data-action="rename"]') : $('folder-title')).focus();
    }

    function onRename(ev) {
        ev.preventDefault();
        var f = state.renaming;
        var name = $('rename-name').value.trim();
        var why = badName(name);
        quiet('files');
        if (!f) {
            return;
        }
        if (why) {
            say($('files-error'), why);
            $('rename-name').focus();
            return;
        }
        if (name === f.name) {
            closeRename();
            return;
        }
        var to = parentOf(f.path) + name + (f.type === 'folder' ? '/' : '');
        withBusy($('rename-submit'), api('POST', '/files/move', {from: f.path, to: to, overwrite: false}))
            .then(function () {
                closeRename();
                say($('files-status'), 'Renamed ' + f.name + ' to ' + name + '.');
                return loadFiles(false).then(function () {
                    $('folder-title').focus();
                });
            }, function (e) {
                if (e.status === 412) {
                    e.message = 'something named “' + name + '” is here already';
                }
                throw e;
            })
            .catch(filesError);
    }

    function deleteFile(f) {
        deleteAfterAsking('files', f.name, (f.type === 'folder'
            ? 'The folder and everything in it are deleted'
            : 'The file is deleted') + ' here and on every device that syncs your files.',
        filesQuery('', f.path), function () {
            return loadFiles(false);
        }, 'folder-title');
    }

    /* ---- jCard and jCal (RFC 7095, RFC 7265) ---------------------------------- */

    /* The first property named NAME of a property list, or null. */
    function jprop(props, name) {
        for (var i = 0; i < (props || []).length; i++) {
            if (props[i][0] === name) {
                return props[i];
            }
        }
        return null;
    }

    /* A property's values as text: structured values joined, several values by commas. */
    function jtext(prop) {
        if (!prop) {
            return '';
        }
        return prop.slice(3).map(function (v) {
            if (Array.isArray(v)) {
                return v.map(function (p) {
                    return Array.isArray(p) ? p.join(' ') : String(p);
                }).filter(Boolean).join(' ');
            }
            return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
        }).join(', ');
    }

    /* ---- contacts ------------------------------------------------------------ */

    var contactsError = showsErrorIn('contacts-error');

    function resetContacts() {
        state.book = null;
        clear($('contact-list'));
        show($('contacts-empty'), false);
        quiet('contacts');
        ['contact-name', 'contact-email', 'contact-phone'].forEach(function (id) {
            $(id).value = '';
        });
    }

    function bookPath() {
        return '/addressbooks/' + encodeURIComponent(state.book) + '/contacts';
    }

    /* Name, email and phone of a contact from the API ({id, jcard} or {id, error}). */
    function contactFields(c) {
        var props = c.jcard ? c.jcard[1] : [];
        var name = jtext(jprop(props, 'fn')) || jtext(jprop(props, 'n')) ||
            jtext(jprop(props, 'org'));
        return {
            name: name || (c.jcard ? '(no name)' : '(unreadable: ' + (c.error || 'unknown') + ')'),
            email: jtext(jprop(props, 'email')),
            phone: jtext(jprop(props, 'tel')).replace(/^tel:/i, '')
        };
    }

    function contactItem(c) {
        var f = contactFields(c);
        var details = [f.email, f.phone].filter(Boolean).join(' · ');
        return el('li', {'data-id': c.id},
            el('span', {className: 'item-name'}, f.name),
            el('span', {className: 'item-meta'}, details || 'no email address or phone number'),
            el('span', {className: 'actions'}, actionButton('Delete', f.name, function () {
                deleteContact(c.id, f.name);
            })));
    }

    /*
     * The collection a section shows: of those in LIST that FITS, the one
     * every account gets (named ID: "contacts", "personal"), else the first.
     */
    function pickCollection(list, id, fits) {
        var items = (list.items || []).filter(fits);
        return items.filter(function (x) {
            return x.id === id;
        })[0] || items[0] || null;
    }

    function loadContacts() {
        var epoch = state.epoch;
        return api('GET', '/addressbooks').then(function (list) {
            var book = pickCollection(list, 'contacts', function () {
                return true;
            });
            if (epoch !== state.epoch) {
                return null;
            }
            if (!book) {
                throw new ApiError(404, '', 'you have no address book yet');
            }
            state.book = book.id;
            $('contacts-book').textContent = 'Your address book “' + (book.displayname || book.id) +
                '”, the one your phone and computer sync.';
            return fetchAll(bookPath()).then(function (items) {
                if (epoch !== state.epoch) {
                    return;
                }
                var ul = $('contact-list');
                clear(ul);
                items.map(function (c) {
                    return {c: c, name: contactFields(c).name.toLocaleLowerCase()};
                }).sort(function (a, b) {
                    return a.name.localeCompare(b.name);
                }).forEach(function (x) {
                    ul.appendChild(contactItem(x.c));
                });
                show($('contacts-empty'), ul.childNodes.length === 0);
            });
        }).catch(contactsError);
    }

    /* A vCard 4 (RFC 6350) in jCard form; TEL as text keeps the number as written. */
    function makeJCard(name, email, phone) {
        var props = [['version', {}, 'text', '4.0'], ['uid', {}, 'uri', 'urn:uuid:' + uuid()],
            ['fn', {}, 'text', name]];
        if (email) {
            props.push(['email', {}, 'text', email]);
        }
        if (phone) {
            props.push(['tel', {}, 'text', phone]);
        }
        return ['vcard', props];
    }

    function onAddContact(ev) {
        ev.preventDefault();
        var name = $('contact-name').value.trim();
        var email = $('contact-email').value.trim();
        var phone = $('contact-phone').value.trim();
        quiet('contacts');
        if (!name) {
            say($('contacts-error'), 'Please give the contact’s name.');
            $('contact-name').focus();
            return;
        }
        if (!state.book) {
            say($('contacts-error'), 'Your address book is not loaded: reload the page.');
            return;
        }
        withBusy($('contact-submit'), api('POST', bookPath(), makeJCard(name, email, phone)))
            .then(function () {
                ['contact-name', 'contact-email', 'contact-phone'].forEach(function (id) {
                    $(id).value = '';
                });
                say($('contacts-status'), 'Added ' + name + '.');
                $('contact-name').focus();
                return loadContacts();
            })
            .catch(contactsError);
    }

    function deleteContact(id, name) {
        deleteAfterAsking('contacts', name, 'The contact is deleted here and on every device ' +
            'that syncs this address book.', bookPath() + '/' + encodeURIComponent(id),
        loadContacts, 'contact-list-h');
    }

    /* ---- calendar ------------------------------------------------------------ */

    var calendarError = showsErrorIn('calendar-error');

    function pad2(n) {
        return (n < 10 ? '0' : '') + n;
    }

    /* The next full hour as the value of an <input type="datetime-local">. */
    function nextHourLocal() {
        var d = new Date(Date.now() + 3600000);
        return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + 'T' +
            pad2(d.getHours()) + ':00';
    }

    function resetCalendar() {
        state.calendar = null;
        clear($('event-list'));
        show($('events-empty'), false);
        quiet('calendar');
        $('event-summary').value = '';
        $('event-start').value = nextHourLocal();
        $('event-duration').value = 'PT1H';
    }

    function calendarPath() {
        return '/calendars/' + encodeURIComponent(state.calendar) + '/events';
    }

    /* The window listed: from the start of today, CALENDAR_DAYS days. */
    function calendarWindow() {
        var start = new Date();
        start.setHours(0, 0, 0, 0);
        var end = new Date(start.getTime());
        end.setDate(end.getDate() + CALENDAR_DAYS);
        return {start: start, end: end};
    }

    var FREQ_WORDS = {SECONDLY: 'second', MINUTELY: 'minute', HOURLY: 'hour', DAILY: 'day',
        WEEKLY: 'week', MONTHLY: 'month', YEARLY: 'year'};

    /* "Repeats every week", "Repeats every 2 months" from a jCal RRULE value. */
    function describeRule(rule) {
        var freq = String(rule && rule.freq || '').toUpperCase();
        var n = Number(rule && rule.interval) || 1;
        var unit = FREQ_WORDS[freq] || freq.toLowerCase();
        return 'Repeats every ' + (n > 1 ? n + ' ' + unit + 's' : unit);
    }

    /*
     * When a DTSTART starts: {at: a Date to sort by, text: for people}. UTC
     * times show in the viewer's time zone; times in a named time zone or
     * floating show as written, with the zone's name.
     */
    function startOf(prop) {
        var v = prop ? String(prop[3]) : '';
        var m = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d))?)?(Z)?$/.exec(v);
        if (!m) {
            return {at: new Date(NaN), text: v || '(no start)'};
        }
        if (!m[4]) {
            var day = new Date(+m[1], +m[2] - 1, +m[3]);
            return {at: day, text: day.toLocaleDateString(undefined, {dateStyle: 'full'}) + ', all day'};
        }
        var at = m[7] ? new Date(v)
            : new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
        var tzid = prop[1] && prop[1].tzid;
        return {at: at, text: at.toLocaleString(undefined, {dateStyle: 'full', timeStyle: 'short'}) +
            (tzid ? ' (' + tzid + ')' : '')};
    }

    /*
     * What the list shows of a calendar object: its event (the main one when
     * the object also holds changed instances), or null for to-dos and the like.
     */
    function eventFields(obj) {
        var comps = obj.jcal ? obj.jcal[2] || [] : [];
        var events = comps.filter(function (c) {
            return c[0] === 'vevent';
        });
        var ev = events.filter(function (c) {
            return !jprop(c[1], 'recurrence-id');
        })[0] || events[0];
        if (!ev) {
            return null;
        }
        var rule = jprop(ev[1], 'rrule');
        var start = startOf(jprop(ev[1], 'dtstart'));
        return {
            summary: jtext(jprop(ev[1], 'summary')) || '(no title)',
            at: start.at,
            when: rule ? describeRule(rule[3]) + ', since ' + start.text : start.text,
            recurs: !!rule
        };
    }

    function eventItem(obj, f) {
        return el('li', {'data-id': obj.id},
            el('span', {className: 'item-name'}, f.summary),
            el('span', {className: 'item-meta'}, f.when),
            el('span', {className: 'actions'}, actionButton('Delete', f.summary, function () {
                deleteEvent(obj.id, f.summary);
            })));
    }

    function loadEvents() {
        var epoch = state.epoch;
        var w = calendarWindow();
        return api('GET', '/calendars').then(function (list) {
            var cal = pickCollection(list, 'personal', function (c) {
                return !c.components || c.components.indexOf('VEVENT') >= 0;
            });
            if (epoch !== state.epoch) {
                return null;
            }
            if (!cal) {
                throw new ApiError(404, '', 'you have no calendar for events yet');
            }
            state.calendar = cal.id;
            $('calendar-about').textContent = 'The next ' + CALENDAR_DAYS + ' days of your calendar “' +
                (cal.displayname || cal.id) + '”, the one your phone and computer sync. A repeating ' +
                'event is listed once, with the day it began and how it repeats.';
            return fetchAll(calendarPath() + '?start=' + encodeURIComponent(utcStamp(w.start)) +
                '&end=' + encodeURIComponent(utcStamp(w.end))).then(function (items) {
                if (epoch !== state.epoch) {
                    return;
                }
                var ul = $('event-list');
                clear(ul);
                items.map(function (obj) {
                    return {obj: obj, f: eventFields(obj)};
                }).filter(function (x) {
                    return x.f;
                }).sort(function (a, b) {
                    return (a.f.at.getTime() || 0) - (b.f.at.getTime() || 0);
                }).forEach(function (x) {
                    ul.appendChild(eventItem(x.obj, x.f));
                });
                show($('events-empty'), ul.childNodes.length === 0);
            });
        }).catch(calendarError);
    }

    /* An iCalendar (RFC 5545) object with one VEVENT, in jCal form; times in UTC. */
    function makeJCal(summary, start, duration) {
        return ['vcalendar', [['version', {}, 'text', '2.0'], ['prodid', {}, 'text', PRODID]],
            [['vevent', [
                ['uid', {}, 'text', uuid()],
                ['dtstamp', {}, 'date-time', utcStamp(new Date())],
                ['dtstart', {}, 'date-time', utcStamp(start)],
                ['duration', {}, 'duration', duration],
                ['summary', {}, 'text', summary]
            ], []]]];
    }

    function onAddEvent(ev) {
        ev.preventDefault();
        var summary = $('event-summary').value.trim();
        /* "2026-01-02T10:00" without an offset is the viewer's local time */
        var start = new Date($('event-start').value);
        quiet('calendar');
        if (!summary) {
            say($('calendar-error'), 'Please say what the event is.');
            $('event-summary').focus();
            return;
        }
        if (!$('event-start').value || isNaN(start.getTime())) {
            say($('calendar-error'), 'Please give the day and time the event starts.');
            $('event-start').focus();
            return;
        }
        if (!state.calendar) {
            say($('calendar-error'), 'Your calendar is not loaded: reload the page.');
            return;
        }
        var jcal = makeJCal(summary, start, $('event-duration').value);
        withBusy($('event-submit'), api('POST', calendarPath(), jcal)).then(function () {
            var w = calendarWindow();
            var when = start.toLocaleString(undefined, {dateStyle: 'full', timeStyle: 'short'});
            $('event-summary').value = '';
            say($('calendar-status'), 'Added ' + summary + ' on ' + when + '.' +
                (start < w.start || start >= w.end ? ' It is outside the next ' + CALENDAR_DAYS +
                    ' days, so it is not listed here.' : ''));
            $('event-summary').focus();
            return loadEvents();
        }).catch(calendarError);
    }

    function deleteEvent(id, summary) {
        deleteAfterAsking('calendar', summary, 'The event is deleted here and on every device ' +
            'that syncs this calendar.', calendarPath() + '/' + encodeURIComponent(id),
        loadEvents, 'event-list-h');
    }

    /* ---- start --------------------------------------------------------------- */

    function start() {
        document.documentElement.classList.add('js');
        if (location.protocol === 'http:' &&
            !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(location.hostname)) {
            show($('http-warning'), true);
        }
        renderUrls();
        $('signin-form').addEventListener('submit', onSignIn);
        $('signup-form').addEventListener('submit', onSignUp);
        $('signout').addEventListener('click', onSignOut);
        $('compose-open').addEventListener('click', function () {
            openCompose('', '', '');
        });
        $('compose-cancel').addEventListener('click', closeCompose);
        $('compose-form').addEventListener('submit', onSend);
        $('compose-to').addEventListener('input', function () {
            say($('compose-error'), '');
        });
        $('mail-refresh').addEventListener('click', function () {
            say($('mail-status'), '');
            loadMail();
        });
        $('messages-more').addEventListener('click', function () {
            loadMessages(true).catch(mailError);
        });
        $('msg-close').addEventListener('click', function () {
            closeMessage();
            loadMessages(false).catch(mailError);
        });
        $('msg-reply').addEventListener('click', onReply);
        $('upload-form').addEventListener('submit', onUpload);
        $('folder-form').addEventListener('submit', onMakeFolder);
        $('rename-form').addEventListener('submit', onRename);
        $('rename-cancel').addEventListener('click', cancelRename);
        $('rename-form').addEventListener('keydown', function (ev) {
            if (ev.key === 'Escape') {
                cancelRename();
            }
        });
        $('files-more').addEventListener('click', function () {
            loadFiles(true).catch(filesError);
        });
        $('contact-form').addEventListener('submit', onAddContact);
        $('event-form').addEventListener('submit', onAddEvent);
        $('confirm-yes').addEventListener('click', function () {
            $('confirm-dialog').close('yes');
        });
        $('confirm-no').addEventListener('click', function () {
            $('confirm-dialog').close('no');
        });

        /* A session cookie may survive a reload: GET /me says whether it does
         * (and gives its CSRF token); without one this page starts signed out. */
        loadNode().then(function () {
            return enterSignedIn(false, true);
        });
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', start);
    } else {
        start();
    }
})();
