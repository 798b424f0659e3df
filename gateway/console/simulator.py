"""The bundled simulator's control API, as the handset drives it: an SMS or a USSD deliver_sm from a handset,
and the MTs the gateway sent back. Real SMPP all the way: the simulator delivers, the gateway answers."""

from __future__ import annotations

from typing import Any

import aiohttp


class SimulatorUnavailable(Exception):
    """No simulator control API is configured, or it did not answer."""


class Simulator:
    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        self._http: aiohttp.ClientSession | None = None

    @property
    def configured(self) -> bool:
        return bool(self._url)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def send_sms(self, msisdn: str, service: str, text: str) -> None:
        await self._call("POST", "/mo", {"source_addr": msisdn, "destination_addr": service, "text": text})

    async def send_ussd(self, msisdn: str, code: str, text: str, *, op: int, session: int, sequence: int) -> None:
        body = {"source_addr": msisdn, "destination_addr": code, "text": text, "op": op, "session": session}
        await self._call("POST", "/ussd", body | {"sequence": sequence})

    async def mts(self, msisdn: str, since: int) -> tuple[list[dict[str, Any]], int]:
        """The MTs to ``msisdn`` from index ``since`` on, and the index to ask from next time."""
        answer = await self._call("GET", f"/mt?destination_addr={msisdn}&since={since}")
        return list(answer["mts"]), int(answer["next"])

    async def _call(self, method: str, path: str, body: object = None) -> Any:
        if not self._url:
            raise SimulatorUnavailable("no simulator: set http.console_smsc to its control API's URL")
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self._http.request(method, self._url + path, json=body) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SimulatorUnavailable(f"the simulator at {self._url} did not answer: {exc}") from None
        if response.status >= 400:
            raise SimulatorUnavailable(str(answer.get("message", answer)) if isinstance(answer, dict) else str(answer))
        return answer
