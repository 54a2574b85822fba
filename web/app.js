/*
 * app.js - the welcome portal: node information, the addresses to put into
 * apps, sign-up, sign-in and a small mail client over the REST API
 * (api/openapi.json). No dependencies, no build step.
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
        current: null /* the message on view */
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

    /* ---- the REST API -------------------------------------------------------- */

    function ApiError(status, type, message) {
        this.name = 'ApiError';
        this.status = status;
        this.type = type || '';
        this.message = message;
    }
    ApiError.prototype = Object.create(Error.prototype);

    /*
     * api(method, path, body): calls the API in the session (its cookie goes
     * along by itself; a method that changes something carries the CSRF token). Resolves
     * to the parsed JSON body (null for 204); rejects with an ApiError whose
     * message is the problem's `detail` (RFC 9457), which the API writes for people.
     */
    function api(method, path, body) {
        var headers = {Accept: 'application/json, application/problem+json'};
        var init = {method: method, headers: headers, cache: 'no-store', credentials: 'same-origin'};
        if (body !== undefined) {
            headers['Content-Type'] = 'application/json';
            init.body = JSON.stringify(body);
        }
        if (state.csrf && method !== 'GET' && method !== 'HEAD') {
            headers['X-CSRF-Token'] = state.csrf;
        }
        return fetch(API + path, init).then(
            function (res) {
                var type = res.headers.get('Content-Type') || '';
                var parse = res.status === 204 || type.indexOf('json') < 0
                    ? Promise.resolve(null)
                    : res.json().catch(function () {
                        return null;
                    });
                return parse.then(function (data) {
                    if (res.ok) {
                        return data;
                    }
                    var msg = (data && (data.detail || data.title)) ||
                        'the node answered ' + res.status + ' ' + res.statusText;
                    throw new ApiError(res.status, data && data.type, msg);
                });
            },
            function (err) {
                throw new ApiError(0, 'network',
                    'could not reach this node (' + (err && err.message ? err.message : err) + ')');
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

    /* Forgets the session locally and shows the sign-in forms, with NOTICE if given. */
    function endSession(notice) {
        state.csrf = null;
        state.user = null;
        state.me = null;
        state.current = null;
        resetMail();
        show($('signed-in'), false);
        show($('mail'), false);
        show($('signed-out'), true);
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
            show($('signed-out'), false);
            show($('signed-in'), true);
            show($('mail'), true);
            renderUrls();
            if (focus) {
                $('account-h').focus();
            }
            resetMail();
            return loadMail();
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

    function mailError(e) {
        if (!sessionEnded(e)) {
            say($('mail-error'), sentence(e.message));
        }
    }

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
        var q = '?limit=' + PAGE_SIZE;
        if (more && state.next) {
            q += '&cursor=' + encodeURIComponent(state.next);
        }
        var box = state.mailbox;
        return api('GET', mbPath(box) + '/messages' + q).then(function (list) {
            if (box !== state.mailbox) {
                return; /* the user moved on meanwhile */
            }
            var ul = $('messages');
            if (!more) {
                clear(ul);
            }
            (list.items || []).forEach(function (m) {
                ul.appendChild(messageItem(m));
            });
            state.next = list.next || null;
            show($('messages-more'), !!state.next);
            show($('messages-empty'), ul.childNodes.length === 0);
        });
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
        var path = API + mbPath(box) + '/messages/' + encodeURIComponent(id) + '/attachments/' +
            encodeURIComponent(a.index);
        fetch(path, {cache: 'no-store', credentials: 'same-origin'})
            .then(function (res) {
                if (!res.ok) {
                    throw new ApiError(res.status, '', 'the attachment could not be fetched (' +
                        res.status + ')');
                }
                return res.blob();
            })
            .then(function (blob) {
                var url = URL.createObjectURL(new Blob([blob], {type: 'application/octet-stream'}));
                var link = el('a', {href: url, download: a.filename || 'attachment'});
                document.body.appendChild(link);
                link.click();
                document.body.removeChild(link);
                setTimeout(function () {
                    URL.revokeObjectURL(url);
                }, 10000);
            })
            .catch(mailError);
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
