import asyncio
from tests.chaos.test_procpool_crash import no_worker_left  # noqa: F401
from juggler.engine._procpool import ProcessPool
KEEP = []
def test_leaky() -> None:
    async def body() -> None:
        pool = ProcessPool(workers=1)
        await pool.start()
        KEEP.append(pool._slots[:])
        pool._closing = True  # simulate a bug: forget the workers
        pool._slots = [None]
    asyncio.run(body())
