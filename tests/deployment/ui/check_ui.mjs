// The browser check: Debian's chromium, driven by playwright-core, against a running Airflow 3 UI.
//
// It observes and reports; tests/deployment/test_ui.py asserts. Usage:
//   node check_ui.mjs <config.json> <result.json>
// The config names the api-server, the admin's credentials, the connections to test, the task
// instance whose extra link to check and the asset whose graph to read (see test_ui.py). Each step is independent: a failing step
// records its error and a screenshot and the next steps still run. Screenshots go to the config's
// screenshotDir. Exit code 0 when the result was written, whatever it says.

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { chromium } from 'playwright-core';

const [configPath, resultPath] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const TIMEOUT = config.timeoutMs ?? 60000; // generous: two cores also run four Airflow processes
const result = { steps: {}, errors: {}, screenshots: [] };

// test_ui.py passes a fresh directory of its own: it is on chromium's command line, by which the
// test finds and kills a browser left behind when this script is stopped half-way.
const userDataDir = config.userDataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dataframer-ui-chromium-'));
// A persistent context on a fresh, empty profile directory (launch() would not take one).
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: config.chromium ?? '/usr/bin/chromium',
  headless: true,
  timeout: TIMEOUT,
  viewport: { width: 1400, height: 1000 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
context.setDefaultTimeout(TIMEOUT);
const page = context.pages()[0] ?? (await context.newPage());
const consoleErrors = [];
page.on('console', (message) => {
  if (message.type() === 'error') consoleErrors.push(message.text());
});
// Every answer of the connection-test endpoint, as the browser received it.
const connectionTests = [];
page.on('response', async (response) => {
  if (response.url().endsWith('/api/v2/connections/test')) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = await response.text().catch(() => null);
    }
    connectionTests.push({ status: response.status(), request: response.request().postDataJSON(), body });
  }
});

async function shot(name, options = {}) {
  const file = path.join(config.screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, ...options }).catch(() => {});
  result.screenshots.push(file);
  return file;
}

async function step(name, body) {
  const started = Date.now();
  try {
    result.steps[name] = (await body()) ?? {};
  } catch (error) {
    result.errors[name] = String(error?.stack ?? error);
    await shot(`error-${name}`, { fullPage: true });
  }
  console.log(`[ui] ${name}: ${result.errors[name] ? 'ERROR' : 'ok'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function toasts() {
  return page.locator('[data-scope="toast"][data-part="root"]').allInnerTexts();
}

await step('login', async () => {
  await page.goto(config.baseUrl + '/');
  await page.getByLabel('Username').fill(config.username);
  await page.getByLabel('Password').fill(config.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/auth'));
  return { url: page.url() };
});

// Open "Add Connection" and choose the Dataframer type; the dialog and the types offered.
async function openDataframerForm() {
  await page.goto(config.baseUrl + '/connections');
  await page.getByRole('button', { name: 'Add Connection' }).click();
  const dialog = page.getByRole('dialog');
  const typeBox = dialog.getByRole('combobox');
  await typeBox.click();
  await typeBox.fill('Datafr');
  await page.getByRole('option').first().waitFor();
  const options = await page.getByRole('option').allInnerTexts();
  // "Dataframer" (the hook name) is expected; go on with whatever Dataframer option there is, so
  // that the rest of the form is still observed and shown when the name is wrong.
  const chosen = options.includes('Dataframer') ? 'Dataframer' : options.find((text) => /dataframer/i.test(text));
  if (chosen === undefined) throw new Error(`no Dataframer connection type offered; options: ${JSON.stringify(options)}`);
  await page.getByRole('option', { name: chosen, exact: true }).click();
  await dialog.getByText('Standard Fields').waitFor();
  return { dialog, options, chosen };
}

await step('connection_form', async () => {
  const { dialog, options, chosen } = await openDataframerForm();
  await dialog.locator('input[name="host"]').waitFor();
  const dialogLines = (await dialog.innerText()).split('\n').map((line) => line.trim());
  const labels = (await dialog.locator('label').allInnerTexts()).map((text) => text.replace(/\s*\*$/, '').trim());
  const fields = {};
  for (const name of ['host', 'password', 'login', 'port', 'schema', 'description']) {
    const input = dialog.locator(`[name="${name}"]`);
    const count = await input.count();
    fields[name] = count === 0
      ? { present: false, visible: false }
      : {
          present: true,
          visible: await input.first().isVisible(),
          placeholder: await input.first().getAttribute('placeholder'),
          label: await input.first().evaluate((el) => (el.labels && el.labels[0] ? el.labels[0].innerText.trim() : null)),
        };
  }
  await shot('connection-form', { fullPage: true });
  // Save it as a user would: the Base URL with its port, the API key in the password.
  await dialog.getByLabel('Connection ID').fill(config.formConnection.id);
  await dialog.locator('input[name="host"]').fill(config.formConnection.host);
  await dialog.locator('input[name="password"]').fill(config.formConnection.password);
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('row').filter({ hasText: config.formConnection.id }).waitFor();
  return { options, chosen, dialogLines, labels, fields };
});

// The "Extra Fields" section of the form (the provider's conn-fields): each field's label, the
// value its input shows (a field's default is pre-filled), its help text. Not saved.
await step('connection_form_extras', async () => {
  const { dialog } = await openDataframerForm();
  const toggle = dialog.getByRole('button', { name: 'Extra Fields', exact: true });
  await toggle.click();
  // The section is the element the toggle controls (its id has a space, which breaks the region's
  // aria-labelledby, so it cannot be found by its accessible name).
  const section = dialog.locator(`[id="${await toggle.getAttribute('aria-controls')}"]`);
  const roots = section.locator('[data-scope="field"][data-part="root"]');
  await roots.first().waitFor();
  const fields = [];
  for (const root of await roots.all()) {
    const input = root.locator('input[name^="element_"], textarea[name^="element_"]');
    // A JSON field is a code editor: what it shows is its rendered lines.
    const editor = root.locator('.view-lines');
    let value = null;
    let input_name = null;
    if ((await input.count()) > 0) {
      value = await input.first().inputValue();
      input_name = await input.first().getAttribute('name');
    } else if ((await editor.count()) > 0) {
      value = (await editor.first().innerText()).replace(/\u00a0/g, ' ').trim();
    }
    const helper = root.locator('[data-part="helper-text"]');
    fields.push({
      label: (await root.locator('label').first().innerText()).replace(/\s*\*$/, '').trim(),
      visible: await root.isVisible(),
      inputName: input_name,
      value,
      helpText: (await helper.count()) > 0 ? (await helper.first().innerText()).trim() : null,
    });
  }
  // The dialog scrolls inside a fixed frame: a viewport as tall as the dialog's content shows it whole.
  const viewport = page.viewportSize();
  const height = await dialog.evaluate((el) => el.scrollHeight);
  await page.setViewportSize({ width: viewport.width, height: Math.max(viewport.height, height + 200) });
  try {
    await dialog.screenshot({ path: path.join(config.screenshotDir, 'connection-form-extra-fields.png') });
    result.screenshots.push(path.join(config.screenshotDir, 'connection-form-extra-fields.png'));
  } finally {
    await page.setViewportSize(viewport);
  }
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  return { fields };
});

async function testConnection(id, screenshot) {
  await page.goto(config.baseUrl + '/connections');
  const row = page.getByRole('row').filter({ hasText: id });
  const button = row.getByRole('button', { name: 'Test Connection' });
  const iconBefore = await button.innerHTML();
  const seen = connectionTests.length;
  await button.click();
  const deadline = Date.now() + TIMEOUT;
  while (connectionTests.length === seen && Date.now() < deadline) await page.waitForTimeout(200);
  await page.waitForTimeout(1000); // let the toast or the icon change render
  const answer = connectionTests[seen] ?? null;
  const toastTexts = await toasts();
  await button.hover();
  await shot(screenshot);
  return { answer, toasts: toastTexts, iconChanged: (await button.innerHTML()) !== iconBefore };
}

for (const [name, id] of Object.entries(config.testConnections)) {
  await step(`test_${name}`, () => testConnection(id, `test-connection-${name}`));
}

await step('extra_link', async () => {
  const url = `${config.baseUrl}/dags/${encodeURIComponent(config.dagId)}/runs/${encodeURIComponent(config.runId)}/tasks/${encodeURIComponent(config.taskId)}/details`;
  await page.goto(url);
  await page.getByText('Extra Links').first().waitFor().catch(() => {});
  const links = await page.locator('a').evaluateAll((anchors) =>
    anchors.map((a) => ({ text: a.innerText.trim(), href: a.getAttribute('href'), target: a.target })));
  await shot('task-instance-extra-links', { fullPage: true });
  const found = links.filter((link) => link.text === config.linkName);
  let opened = null;
  if (found.length === 1) {
    const [popup] = await Promise.all([
      context.waitForEvent('page'),
      page.getByRole('link', { name: config.linkName, exact: true }).click(),
    ]);
    await popup.waitForLoadState('domcontentloaded').catch(() => {});
    opened = popup.url();
    await popup.close();
  }
  return { url, extraLinksHeading: await page.getByText('Extra Links').count(), found, opened };
});

// What a React Flow graph shows: its nodes (id, kind, lines of text) and edges (source -> target).
async function graphSeen() {
  const nodes = await page.locator('.react-flow__node').evaluateAll((elements) =>
    elements.map((node) => ({
      id: node.getAttribute('data-id'),
      kind: ([...node.classList].find((name) => name.startsWith('react-flow__node-')) ?? '').slice('react-flow__node-'.length),
      text: node.innerText.split('\n').map((line) => line.trim()).filter(Boolean),
    })));
  const edges = await page.locator('.react-flow__edge').evaluateAll((elements) =>
    elements.map((edge) => {
      const label = edge.getAttribute('aria-label') ?? '';
      const match = /^Edge from (.+) to (.+)$/.exec(label);
      return match ? { source: match[1], target: match[2] } : { label };
    }));
  return { nodes, edges };
}

// Fit the graph to its pane and wait until every node lies inside it, so the screenshot shows all.
async function fitGraph() {
  await page.locator('.react-flow__controls-fitview').click();
  await page.waitForFunction(() => {
    const pane = document.querySelector('.react-flow')?.getBoundingClientRect();
    const nodes = [...document.querySelectorAll('.react-flow__node')].map((node) => node.getBoundingClientRect());
    return pane && nodes.length > 0 && nodes.every((box) =>
      box.left >= pane.left && box.right <= pane.right && box.top >= pane.top && box.bottom <= pane.bottom);
  });
}

// The asset's page (Assets -> the asset): its graph by DAG ("Scheduling") and by task ("Task
// Dependencies"), each waited for by the names it must show.
await step('asset_graph', async () => {
  const { uri, producerDag, consumerDag } = config.asset;
  await page.goto(config.baseUrl + '/assets');
  await page.getByRole('link', { name: uri, exact: true }).click();
  await page.waitForURL(/\/assets\/[^/]+$/);
  const header = (await page.getByText(uri, { exact: true }).first().innerText()).trim();
  await page.getByRole('button', { name: 'Scheduling', exact: true }).click();
  for (const dagId of [producerDag, consumerDag]) {
    await page.locator('.react-flow__node-dag').filter({ hasText: dagId }).waitFor();
  }
  await fitGraph();
  const scheduling = await graphSeen();
  await shot('asset-graph');
  await page.getByRole('button', { name: 'Task Dependencies', exact: true }).click();
  for (const dagId of [producerDag, consumerDag]) {
    await page.locator('.react-flow__node-task').filter({ hasText: dagId }).waitFor();
  }
  await fitGraph();
  const tasks = await graphSeen();
  await shot('asset-graph-tasks');
  const details = (await page.locator('body').innerText()).split('\n').map((line) => line.trim()).filter(Boolean);
  return { url: page.url(), header, scheduling, tasks, details };
});

result.consoleErrors = consoleErrors;
result.connectionTests = connectionTests;
await context.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
