/**
 * Paged reads one page ahead. ldapts asks for the next page only when the one before it has been
 * consumed, so the server would wait while a page is reduced and the reader wait while the server
 * builds the next: asking for page n+1 as soon as page n arrives overlaps the two (two cores).
 * At most two pages are held at once.
 */
export async function* readAhead<T>(pages: AsyncIterator<T>, onRequest?: () => void): AsyncGenerator<T> {
  const ask = (): Promise<IteratorResult<T>> => {
    const next = pages.next();
    // Awaited on the next turn; a reader that stops early must not leave a failed page unhandled.
    next.catch(() => {});
    return next;
  };
  let next = ask();
  for (;;) {
    const result = await next;
    if (result.done) return;
    onRequest?.();
    next = ask();
    yield result.value;
  }
}
