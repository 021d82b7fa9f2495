# Solution to exercise 1
async def fetch_all(urls, limit):
    semaphore = asyncio.Semaphore(limit)

    async def one(url):
        async with semaphore:  # waits while `limit` requests are in the air
            return await fetch_async(url)

    return await asyncio.gather(*(one(url) for url in urls))
