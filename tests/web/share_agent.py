"""Run on another machine (a network namespace): join a server, share a file, print its link.

Usage: python -m tests.web.share_agent HOST PORT FILE. Prints the upload URL the server gave
(ISUPPORT draft/FILEHOST), then the link of the uploaded file.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from lanchat.client.upload import upload_file
from tests.web.filehost import uploader


async def main(host: str, port: int, path: Path) -> None:
    up = await uploader(port, "remote", host)
    print(up.url, flush=True)
    shared = await upload_file(up.url, path, token=up.token)
    print(shared.url, flush=True)
    await up.client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])))
