"""Drives Rookery with slixmpp, an independent XMPP client library: STARTTLS + PLAIN,
SCRAM-SHA-1, SCRAM-SHA-256, ANONYMOUS, a wrong password, bind, ping, disco#info, and a
message and an IQ between two clients."""
import asyncio
import ssl

import pytest
import slixmpp
from slixmpp.exceptions import IqError

TIMEOUT = 15


def make_client(jid, password, server, mech=None):
    c = slixmpp.ClientXMPP(jid, password)
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    c.register_plugin("xep_0030")
    c.register_plugin("xep_0199")
    if mech:
        c["feature_mechanisms"].use_mech = mech
    watch_session(c)
    c.connect(address=("127.0.0.1", server.port))
    return c


def watch_session(c):
    """Registers the outcome future before connecting, so no event can be missed."""
    fut = asyncio.get_running_loop().create_future()
    c.add_event_handler("session_start", lambda _: fut.done() or fut.set_result("ok"))
    c.add_event_handler("failed_auth", lambda _: fut.done() or fut.set_result("failed_auth"))
    c.session_outcome = fut


async def wait_session(c):
    return await asyncio.wait_for(c.session_outcome, TIMEOUT)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mech", ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_password_mechanisms_over_starttls(server, mech):
    async def run():
        c = make_client("alice@localhost/py", "alice-pw", server, mech)
        assert await wait_session(c) == "ok"
        assert c.transport.get_extra_info("ssl_object") is not None, "the stream should be encrypted with STARTTLS"
        assert str(c.boundjid) == "alice@localhost/py"
        rtt = await c["xep_0199"].ping("localhost", timeout=TIMEOUT)
        assert rtt >= 0
        info = await c["xep_0030"].get_info(jid="localhost", timeout=TIMEOUT)
        assert "urn:xmpp:ping" in info["disco_info"]["features"]
        c.disconnect()
    asyncio.run(run())


@pytest.mark.timeout(60)
def test_wrong_password_fails(server):
    async def run():
        c = make_client("alice@localhost/py", "wrong", server, "SCRAM-SHA-1")
        assert await wait_session(c) == "failed_auth"
        c.disconnect()
    asyncio.run(run())


@pytest.mark.timeout(60)
def test_anonymous(server):
    async def run():
        c = slixmpp.ClientXMPP("localhost", "")
        c.ssl_context.check_hostname = False
        c.ssl_context.verify_mode = ssl.CERT_NONE
        c["feature_mechanisms"].use_mech = "ANONYMOUS"
        watch_session(c)
        c.connect(address=("127.0.0.1", server.port))
        assert await wait_session(c) == "ok"
        assert c.boundjid.domain == "localhost" and c.boundjid.user
        c.disconnect()
    asyncio.run(run())


@pytest.mark.timeout(60)
def test_message_and_iq_between_two_clients(server):
    async def run():
        a = make_client("alice@localhost/a", "alice-pw", server)
        b = make_client("bob@localhost/b", "bob-pw", server)
        assert await wait_session(a) == "ok"
        assert await wait_session(b) == "ok"
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        b.add_event_handler("message", lambda m: got.done() or got.set_result((str(m["from"]), m["body"])))
        a.send_message(mto="bob@localhost/b", mbody="hello from slixmpp", mtype="chat")
        assert await asyncio.wait_for(got, TIMEOUT) == ("alice@localhost/a", "hello from slixmpp")
        # An IQ between clients: b answers disco#info for itself (slixmpp's plugin does).
        info = await a["xep_0030"].get_info(jid="bob@localhost/b", timeout=TIMEOUT)
        assert "http://jabber.org/protocol/disco#info" in info["disco_info"]["features"]
        # An IQ to a resource that is not there gets service-unavailable.
        with pytest.raises(IqError) as err:
            await a["xep_0030"].get_info(jid="bob@localhost/nobody", timeout=TIMEOUT)
        assert err.value.condition == "service-unavailable"
        a.disconnect()
        b.disconnect()
    asyncio.run(run())
