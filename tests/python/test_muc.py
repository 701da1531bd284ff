"""Drives Rookery's MUC service (conference.localhost, XEP-0045 defaults: rooms are locked
until configured) with slixmpp's XEP-0045 plugin: room creation through the owner form,
join, groupchat between two clients, subject change, nick change, private messages, kick
(307), ban (301), members-only refusal, password rooms, the config form round trip, and
history on join."""
import asyncio
import ssl

import pytest
import slixmpp
from slixmpp import JID
from slixmpp.exceptions import IqError, PresenceError

TIMEOUT = 15
MUC = "conference.localhost"


def client(jid, password, server):
    c = slixmpp.ClientXMPP(jid, password)
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    for plugin in ("xep_0030", "xep_0004", "xep_0045", "xep_0199", "xep_0203"):
        c.register_plugin(plugin)
    if not password:
        c["feature_mechanisms"].use_mech = "ANONYMOUS"
    fut = asyncio.get_running_loop().create_future()
    c.add_event_handler("session_start", lambda _: fut.done() or fut.set_result("ok"))
    c.add_event_handler("failed_auth", lambda _: fut.done() or fut.set_result("failed_auth"))
    c.session_outcome = fut
    c.connect(address=("127.0.0.1", server.port))
    return c


async def online(*clients):
    for c in clients:
        assert await asyncio.wait_for(c.session_outcome, TIMEOUT) == "ok"


async def alice_bob(server):
    a = client("alice@localhost/muc", "alice-pw", server)
    b = client("bob@localhost/muc", "bob-pw", server)
    await online(a, b)
    return a, b


async def guest(server):
    g = client("localhost", "", server)
    await online(g)
    return g


def waiter(c, event, pred=lambda _: True):
    """A future for the first `event` whose stanza satisfies `pred`, registered now so
    nothing sent after this call can be missed."""
    fut = asyncio.get_running_loop().create_future()

    def handler(stanza):
        if not fut.done() and pred(stanza):
            fut.set_result(stanza)

    c.add_event_handler(event, handler)
    return fut


async def got(fut):
    return await asyncio.wait_for(fut, TIMEOUT)


async def create_room(owner, room, nick, **values):
    """Creates `room` (status 201, locked) and configures it through the owner form: the
    form is fetched, the given muc#roomconfig_* values are set, and it is submitted whole."""
    muc = owner["xep_0045"]
    pres, _subject, occupants, _history = await muc.join_muc_wait(JID(room), nick, timeout=TIMEOUT)
    codes = pres["muc"]["status_codes"]
    assert 110 in codes and 201 in codes, codes
    assert [p["from"].resource for p in occupants] == [nick]
    assert pres["muc"]["affiliation"] == "owner" and pres["muc"]["role"] == "moderator"
    form = await muc.get_room_config(room, timeout=TIMEOUT)
    assert form["type"] == "form"
    fields = form.get_fields()
    form_type = fields["FORM_TYPE"]["value"]  # slixmpp reads hidden fields as lists
    assert form_type in ("http://jabber.org/protocol/muc#roomconfig", ["http://jabber.org/protocol/muc#roomconfig"])
    for var, value in values.items():
        assert "muc#roomconfig_" + var in fields, var
    form.set_values({"muc#roomconfig_" + k: v for k, v in values.items()})
    await muc.set_room_config(room, form, timeout=TIMEOUT)


async def join(c, room, nick, **kw):
    return await c["xep_0045"].join_muc_wait(JID(room), nick, timeout=TIMEOUT, **kw)


def run(coro):
    asyncio.run(asyncio.wait_for(coro, 50))


@pytest.mark.timeout(60)
def test_locked_room_refuses_until_configured_then_groupchat_and_subject(server):
    async def go():
        a, b = await alice_bob(server)
        room = "chat@" + MUC
        muc_a, muc_b = a["xep_0045"], b["xep_0045"]
        await muc_a.join_muc_wait(JID(room), "alice", timeout=TIMEOUT)
        # Locked until its owner configures it: XEP-0045 §10.1.1 item-not-found.
        with pytest.raises(PresenceError) as err:
            await join(b, room, "bob")
        assert err.value.condition == "item-not-found"
        form = await muc_a.get_room_config(room, timeout=TIMEOUT)
        form.set_values({"muc#roomconfig_roomname": "Chat", "muc#roomconfig_changesubject": True})
        await muc_a.set_room_config(room, form, timeout=TIMEOUT)

        seen_bob = waiter(a, "muc::%s::got_online" % room)
        pres, subject, occupants, history = await join(b, room, "bob")
        assert 110 in pres["muc"]["status_codes"]
        assert pres["muc"]["role"] == "participant"
        # slixmpp lists every occupant that came online during the join, itself last.
        assert [str(p["from"]) for p in occupants] == [room + "/alice", room + "/bob"]
        assert history == []
        assert subject["subject"] == ""
        assert str((await got(seen_bob))["from"]) == room + "/bob"
        assert sorted(muc_a.get_roster(room)) == ["alice", "bob"]

        # Groupchat reaches both, the sender included.
        for sender, nick in ((a, "alice"), (b, "bob")):
            text = "hello from " + nick
            futs = [waiter(c, "muc::%s::message" % room, lambda m, t=text: m["body"] == t) for c in (a, b)]
            sender.send_message(mto=room, mbody=text, mtype="groupchat")
            for f in futs:
                m = await got(f)
                assert str(m["from"]) == room + "/" + nick

        # Subject change by a participant (allowed by changesubject), seen by both.
        futs = [waiter(c, "muc::%s::groupchat_subject" % room) for c in (a, b)]
        muc_b.set_subject(room, "New topic")
        for f in futs:
            m = await got(f)
            assert m["subject"] == "New topic"
            assert str(m["from"]) == room + "/bob"
        info = await a["xep_0030"].get_info(jid=room, timeout=TIMEOUT)
        names = [ident[3] for ident in info["disco_info"]["identities"]]
        assert names == ["Chat"], names
        a.disconnect()
        b.disconnect()
    run(go())


@pytest.mark.timeout(60)
def test_nick_change_and_private_message(server):
    async def go():
        a, b = await alice_bob(server)
        room = "nicks@" + MUC
        await create_room(a, room, "alice")
        await join(b, room, "bob")
        left = waiter(a, "muc::%s::got_offline" % room)
        came = waiter(a, "muc::%s::got_online" % room, lambda p: p["from"].resource == "robert")
        self_new = waiter(b, "muc::%s::self-presence" % room, lambda p: p["type"] != "unavailable")
        b.send_presence(pto=room + "/robert")
        old = await got(left)
        assert str(old["from"]) == room + "/bob"
        assert 303 in old["muc"]["status_codes"]
        assert old["muc"]["item"]["nick"] == "robert"
        assert str((await got(came))["from"]) == room + "/robert"
        assert str((await got(self_new))["from"]) == room + "/robert"
        assert sorted(a["xep_0045"].get_roster(room)) == ["alice", "robert"]

        # Private messages go through occupant JIDs, both ways.
        pm = waiter(a, "message", lambda m: m["type"] == "chat" and m["body"] == "psst")
        b.send_message(mto=room + "/alice", mbody="psst", mtype="chat")
        m = await got(pm)
        assert str(m["from"]) == room + "/robert"
        pm = waiter(b, "message", lambda m: m["type"] == "chat" and m["body"] == "ok")
        a.send_message(mto=room + "/robert", mbody="ok", mtype="chat")
        assert str((await got(pm))["from"]) == room + "/alice"
        # To a nick that is not there: an error comes back.
        err = waiter(b, "message", lambda m: m["type"] == "error")
        b.send_message(mto=room + "/nobody", mbody="hello?", mtype="chat")
        assert (await got(err))["error"]["condition"] == "item-not-found"
        a.disconnect()
        b.disconnect()
    run(go())


@pytest.mark.timeout(60)
def test_kick_and_ban_by_owner(server):
    async def go():
        a, b = await alice_bob(server)
        room = "mods@" + MUC
        await create_room(a, room, "alice")
        await join(b, room, "bob")
        muc_a = a["xep_0045"]

        # Kick: 307 to bob (with 110) and to alice.
        kicked_self = waiter(b, "muc::%s::presence" % room, lambda p: p["type"] == "unavailable")
        kicked_seen = waiter(a, "muc::%s::got_offline" % room)
        await muc_a.set_role(room, "bob", "none", reason="cool off", timeout=TIMEOUT)
        p = await got(kicked_self)
        assert {307, 110} <= set(p["muc"]["status_codes"])
        assert p["muc"]["role"] == "none"
        assert 307 in (await got(kicked_seen))["muc"]["status_codes"]
        assert muc_a.get_roster(room) == ["alice"]

        # A kicked user may come back; a participant may not kick.
        await join(b, room, "bob")
        with pytest.raises(IqError) as err:
            await b["xep_0045"].set_role(room, "alice", "none", timeout=TIMEOUT)
        assert err.value.condition == "not-allowed"

        # Ban: 301, and the account cannot re-enter.
        banned_self = waiter(b, "muc::%s::presence" % room, lambda p: p["type"] == "unavailable")
        banned_seen = waiter(a, "muc::%s::got_offline" % room)
        await muc_a.set_affiliation(room, "outcast", jid=JID("bob@localhost"), reason="spam", timeout=TIMEOUT)
        p = await got(banned_self)
        assert {301, 110} <= set(p["muc"]["status_codes"])
        assert p["muc"]["affiliation"] == "outcast"
        assert 301 in (await got(banned_seen))["muc"]["status_codes"]
        with pytest.raises(PresenceError) as err:
            await join(b, room, "bob-again")
        assert err.value.condition == "forbidden"
        outcasts = await muc_a.get_affiliation_list(room, "outcast", timeout=TIMEOUT)
        assert [str(j) for j in outcasts] == ["bob@localhost"]
        a.disconnect()
        b.disconnect()
    run(go())


@pytest.mark.timeout(60)
def test_members_only_room(server):
    async def go():
        a, b = await alice_bob(server)
        room = "members@" + MUC
        await create_room(a, room, "alice", membersonly=True)
        with pytest.raises(PresenceError) as err:
            await join(b, room, "bob")
        assert err.value.condition == "registration-required"
        await a["xep_0045"].set_affiliation(room, "member", jid=JID("bob@localhost"), timeout=TIMEOUT)
        pres, _, occupants, _ = await join(b, room, "bob")
        assert pres["muc"]["affiliation"] == "member"
        assert [p["from"].resource for p in occupants] == ["alice", "bob"]
        members = await a["xep_0045"].get_affiliation_list(room, "member", timeout=TIMEOUT)
        assert [str(j) for j in members] == ["bob@localhost"]
        info = await b["xep_0030"].get_info(jid=room, timeout=TIMEOUT)
        assert "muc_membersonly" in info["disco_info"]["features"]
        a.disconnect()
        b.disconnect()
    run(go())


@pytest.mark.timeout(60)
def test_password_room(server):
    async def go():
        a, b = await alice_bob(server)
        room = "secret@" + MUC
        await create_room(a, room, "alice", passwordprotectedroom=True, roomsecret="open sesame")
        for password in (None, "wrong"):
            with pytest.raises(PresenceError) as err:
                await join(b, room, "bob", password=password)
            assert err.value.condition == "not-authorized"
        pres, *_ = await join(b, room, "bob", password="open sesame")
        assert 110 in pres["muc"]["status_codes"]
        info = await b["xep_0030"].get_info(jid=room, timeout=TIMEOUT)
        assert "muc_passwordprotected" in info["disco_info"]["features"]
        a.disconnect()
        b.disconnect()
    run(go())


@pytest.mark.timeout(60)
def test_config_form_round_trip(server):
    async def go():
        a = client("alice@localhost/cfg", "alice-pw", server)
        await online(a)
        room = "configured@" + MUC
        await create_room(a, room, "alice", roomname="Configured", roomdesc="A described room",
                          moderatedroom=True, publicroom=False, whois="anyone", maxusers="50")
        form = await a["xep_0045"].get_room_config(room, timeout=TIMEOUT)
        v = form.get_values()
        assert v["muc#roomconfig_roomname"] == "Configured"
        assert v["muc#roomconfig_roomdesc"] == "A described room"
        assert v["muc#roomconfig_moderatedroom"] is True
        assert v["muc#roomconfig_publicroom"] is False
        assert v["muc#roomconfig_whois"] == "anyone"
        assert v["muc#roomconfig_maxusers"] == "50"
        info = await a["xep_0030"].get_info(jid=room, timeout=TIMEOUT)
        features = info["disco_info"]["features"]
        for f in ("muc_moderated", "muc_hidden", "muc_nonanonymous", "muc_temporary"):
            assert f in features, f
        items = await a["xep_0030"].get_items(jid=MUC, timeout=TIMEOUT)
        assert room not in [str(i[0]) for i in items["disco_items"]["items"]]
        # A bad value is refused with not-acceptable and changes nothing.
        form["type"] = "submit"
        form.set_values({"muc#roomconfig_whois": "everybody"})
        with pytest.raises(IqError) as err:
            await a["xep_0045"].set_room_config(room, form, timeout=TIMEOUT)
        assert err.value.condition == "not-acceptable"
        again = await a["xep_0045"].get_room_config(room, timeout=TIMEOUT)
        assert again.get_values()["muc#roomconfig_whois"] == "anyone"
        a.disconnect()
    run(go())


@pytest.mark.timeout(60)
def test_history_on_join(server):
    async def go():
        a = client("alice@localhost/hist", "alice-pw", server)
        await online(a)
        room = "history@" + MUC
        await create_room(a, room, "alice")
        for i in range(3):
            echo = waiter(a, "muc::%s::message" % room, lambda m, i=i: m["body"] == "line %d" % i)
            a.send_message(mto=room, mbody="line %d" % i, mtype="groupchat")
            await got(echo)
        g1 = await guest(server)
        _, _, occupants, history = await join(g1, room, "all")
        assert [m["body"] for m in history] == ["line 0", "line 1", "line 2"]
        assert all(str(m["from"]) == room + "/alice" for m in history)
        assert all(m["delay"]["stamp"] is not None for m in history)
        g2 = await guest(server)
        _, _, _, history = await join(g2, room, "two", maxstanzas=2)
        assert [m["body"] for m in history] == ["line 1", "line 2"]
        g3 = await guest(server)
        _, _, _, history = await join(g3, room, "none", maxstanzas=0)
        assert history == []
        for c in (a, g1, g2, g3):
            c.disconnect()
    run(go())
