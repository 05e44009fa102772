"""This host's own adverts: withdrawn at once (one goodbye packet for every advert, sent without
waiting), and recognised in the cache after a restart (:func:`own_earlier_advert`).

RFC 6762 §10.1 asks a host that is shutting down to send *an* unsolicited response with the records
it withdraws at TTL 0. python-zeroconf sends its goodbyes three times, 125 ms apart, and a stage
that withdraws its adverts through it (``async_unregister_service``, ``AsyncZeroconf.async_close``)
waits 250 ms for the repeats: most of what stopping a stage used to cost. Here every advert's
records go into one packet (zeroconf splits it where a packet would be too large), sent
:data:`GOODBYE_SENDS` times back to back, and the services leave the registry, so closing
zeroconf afterwards has nothing left to wait for.

What is traded: a browser that loses every copy of the goodbye keeps the service until its
records' TTL runs out (zeroconf's: 2 minutes for the address and SRV records, 75 minutes for the
PTR and TXT ones). Copies sent back to back cover a datagram
lost on its own (a busy switch port, Wi-Fi), not a network that is down for the 250 ms the
spaced repeats would have spanned. Runtime withdrawals (a device removed while the stage runs)
keep zeroconf's spaced repeats: nobody waits for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from zeroconf import ServiceInfo, Zeroconf
from zeroconf._cache import DNSCache  # the record classes are not re-exported at the top level
from zeroconf._dns import DNSAddress, DNSPointer, DNSRecord, DNSService, DNSText
from zeroconf._protocol.outgoing import DNSOutgoing
from zeroconf.asyncio import AsyncZeroconf

#: Copies of the goodbye packet sent back to back when mDNS closes.
GOODBYE_SENDS = 2
_FLAGS_RESPONSE_AUTHORITATIVE = 0x8000 | 0x0400  # QR (a response) and AA, as every mDNS answer


def goodbye_packet(zc: Zeroconf, infos: Sequence[ServiceInfo]) -> DNSOutgoing:
    """One response withdrawing every record of ``infos`` (TTL 0). A service's address records are
    left out while another service still registered on ``zc`` shares its host name (zeroconf's rule:
    that host is still there)."""
    out = DNSOutgoing(_FLAGS_RESPONSE_AUTHORITATIVE)
    leaving = {id(info) for info in infos}
    for info in infos:
        out.add_answer_at_time(info.dns_pointer(override_ttl=0), 0)
        out.add_answer_at_time(info.dns_service(override_ttl=0), 0)
        out.add_answer_at_time(info.dns_text(override_ttl=0), 0)
        staying = [other for other in zc.registry.async_get_infos_server(info.server_key or "")
                   if id(other) not in leaving]
        if not staying:
            for record in info.get_address_and_nsec_records(override_ttl=0):
                out.add_answer_at_time(record, 0)
    return out


def send_goodbyes(zc: Zeroconf, infos: Sequence[ServiceInfo] | None = None) -> int:
    """Withdraw ``infos`` (None: every service registered on ``zc``) from ``zc``'s registry and send
    their goodbye, :data:`GOODBYE_SENDS` copies back to back (I/O loop). Returns how many services
    were withdrawn (0: nothing sent)."""
    registered = zc.registry.async_get_service_infos()
    chosen = list(registered) if infos is None else [i for i in infos if any(i is r for r in registered)]
    if not chosen or zc.done:
        return 0
    for info in chosen:
        info.set_server_if_missing()
    out = goodbye_packet(zc, chosen)
    zc.registry.async_remove(chosen)
    for _ in range(GOODBYE_SENDS):
        zc.async_send(out)
    return len(chosen)


async def async_close_zeroconf(azc: AsyncZeroconf) -> int:
    """Send the goodbyes of every service ``azc`` still announces (:func:`send_goodbyes`), then close
    it; returns how many services were withdrawn."""
    withdrawn = send_goodbyes(azc.zeroconf)
    await azc.async_close()  # its registry is empty: no goodbye rounds to wait out
    return withdrawn


def own_earlier_advert(cache: DNSCache, service_type: str, name: str, port: int,
                        addresses: Sequence[bytes]) -> list[DNSRecord]:
    """The cached records of an earlier advert of this very service, which zeroconf would otherwise
    take for another host's and rename the new advert ``instance-2`` for: this host's own previous
    run (a restart within the records' TTL, or a run that ended without goodbye packets).

    Ours when ``name`` (``instance.type``) is held at ``port`` on one of ``addresses`` (packed IPs):
    no other live service can hold the port this one is bound to. Empty when there is no such record,
    or when the name is held at another port or address (another service: the rename stands, and an
    emulator, on a new port each run, is renamed after a quick restart).
    """
    services = [r for r in cache.entries_with_name(name) if isinstance(r, DNSService)]
    at_our_port = bool(services) and all(
        srv.port == port and any(isinstance(r, DNSAddress) and r.address in addresses
                                 for r in cache.entries_with_name(srv.server))
        for srv in services)
    if not at_our_port:
        return []
    texts = [r for r in cache.entries_with_name(name) if isinstance(r, DNSText)]
    pointers = [r for r in cache.entries_with_name(service_type)
                if isinstance(r, DNSPointer) and r.alias.lower() == name.lower()]
    return [*pointers, *services, *texts]
