// Runs in the browser page next to lib-jitsi-meet.min.js: a thin layer over the library's
// public API (JitsiMeetJS, JitsiConnection, JitsiConference) that the Node tests drive with
// page.evaluate. It does what the Jitsi Meet web app does to connect and join, and records
// the events the tests look at.
/* global JitsiMeetJS */
(function () {
    JitsiMeetJS.init({ disableAudioLevels: true });
    JitsiMeetJS.setLogLevel(JitsiMeetJS.logLevels.ERROR);
    const { connection: C, conference: F } = JitsiMeetJS.events;

    const state = {
        connection: null,
        conference: null,
        // Every connection/conference event after the first answer, as [name, ...args].
        events: [],
        // Group-chat messages received: { from, text }.
        messages: [],
        // Participants seen joining: their display ids.
        joined: [],
        // Callbacks to run after any recorded change (the waits below re-check on each).
        wakeups: [],
    };

    function changed() {
        const run = state.wakeups;
        state.wakeups = [];
        run.forEach((f) => f());
    }

    async function until(pred) {
        while (!pred()) {
            await new Promise((r) => state.wakeups.push(r));
        }
    }

    window.harness = {
        /**
         * Connects the way the Jitsi Meet web app does: the service URL gets `?room=`, the
         * token is given to JitsiConnection (which appends `&token=`), no JID and no password.
         * Resolves to { ok, jid } or { ok: false, error, message }.
         */
        connect({ service, token, room, hosts }) {
            const options = { hosts, serviceUrl: `${service}?room=${encodeURIComponent(room)}` };
            const conn = new JitsiMeetJS.JitsiConnection(null, token, options);
            state.connection = conn;
            return new Promise((resolve) => {
                let answered = false;
                // The first outcome answers; later ones (lib-jitsi-meet reports CONNECTED
                // again after a resumption) are recorded.
                const answer = (v) => {
                    if (!answered) {
                        answered = true;
                        resolve(v);
                    } else {
                        state.events.push([v.ok ? 'established' : 'failed', v]);
                    }
                };
                conn.addEventListener(C.CONNECTION_ESTABLISHED, () =>
                    answer({ ok: true, jid: conn.xmpp.connection.jid }));
                conn.addEventListener(C.CONNECTION_FAILED, (error, message) =>
                    answer({ ok: false, error, message: message === undefined ? null : message }));
                conn.addEventListener(C.CONNECTION_DISCONNECTED, (msg) =>
                    state.events.push(['disconnected', msg === undefined ? null : msg]));
                conn.connect();
            });
        },

        /** Joins `room`; resolves to { ok, myUserId } or { ok: false, error }. */
        join(room, displayName) {
            const conf = state.connection.initJitsiConference(room, {});
            state.conference = conf;
            conf.setDisplayName(displayName);
            conf.on(F.USER_JOINED, (id, user) => {
                state.joined.push(user.getDisplayName() || id);
                changed();
            });
            // The room echoes one's own messages back: keep only the others'.
            conf.on(F.MESSAGE_RECEIVED, (from, text) => {
                if (from !== conf.myUserId()) {
                    state.messages.push({ from, text });
                    changed();
                }
            });
            return new Promise((resolve) => {
                let answered = false;
                conf.on(F.CONFERENCE_JOINED, () => {
                    answered = true;
                    resolve({ ok: true, myUserId: conf.myUserId() });
                });
                conf.on(F.CONFERENCE_FAILED, (error) => {
                    if (answered) state.events.push(['conference-failed', error]);
                    answered = true;
                    resolve({ ok: false, error });
                });
                conf.join();
            });
        },

        /** Resolves once `n` participants other than this one have been seen joining. */
        async waitForParticipants(n) {
            await until(() => state.joined.length >= n);
            return [...state.joined];
        },

        /** Resolves once `n` group-chat messages have arrived; returns their texts. */
        async waitForMessages(n) {
            await until(() => state.messages.length >= n);
            return state.messages.map((m) => m.text);
        },

        send(text) {
            state.conference.sendTextMessage(text);
        },

        jid() {
            return state.connection.xmpp.connection.jid;
        },

        /** Whether XEP-0198 is enabled with resumption (Strophe's stream-management plugin). */
        smEnabled() {
            const sm = state.connection.xmpp.connection._stropheConn.streamManagement;
            return Boolean(sm && sm.getResumeToken());
        },

        events() {
            return [...state.events];
        },
    };
})();
