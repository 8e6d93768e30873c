// `npm test` (node --test): the site serves public/, answers /health, and nothing outside public/.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSite } from '../server.js';

async function start() {
  const server = createSite();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

test('serves index.html for / and the stylesheet with its type', async () => {
  const site = await start();
  try {
    const page = await fetch(`${site.base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.match(await page.text(), /<h1>/);
    const css = await fetch(`${site.base}/style.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type'), /^text\/css/);
  } finally {
    await site.close();
  }
});

test('/health answers 200; a missing file 404; nothing outside public/', async () => {
  const site = await start();
  try {
    assert.equal((await fetch(`${site.base}/health`)).status, 200);
    assert.equal((await fetch(`${site.base}/nope.html`)).status, 404);
    assert.equal((await fetch(`${site.base}/%2e%2e/package.json`)).status, 404);
    assert.equal((await fetch(`${site.base}/..%2fserver.js`)).status, 404);
  } finally {
    await site.close();
  }
});
