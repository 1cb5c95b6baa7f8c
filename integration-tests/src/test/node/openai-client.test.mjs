// The official openai package against a running llmnpu server (LLMNPU_URL, LLMNPU_MODEL).
// Run by OpenAiClientIT through node's test runner.
import { test } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";

const baseURL = process.env.LLMNPU_URL + "/v1";
const model = process.env.LLMNPU_MODEL;
const client = new OpenAI({ baseURL, apiKey: process.env.LLMNPU_API_KEY ?? "none", maxRetries: 0 });

test("lists the model", async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map(m => m.id), [model]);
});

test("completion", async () => {
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 20, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.match(r.choices[0].text, /^, there was a little girl named Lily/);
  assert.equal(r.choices[0].finish_reason, "length");
  assert.equal(r.usage.completion_tokens, 20);
});

test("chat", async () => {
  const r = await client.chat.completions.create({
    model, messages: [{ role: "system", content: "Stories." }, { role: "user", content: "A cat" }],
    max_tokens: 16, temperature: 0, seed: 1,
  });
  assert.equal(r.choices[0].message.role, "assistant");
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(r.usage.prompt_tokens > 0);
});

test("streamed chat equals the whole answer", async () => {
  const request = { model, messages: [{ role: "user", content: "Tell me about a dog" }], max_tokens: 30, temperature: 0 };
  const whole = await client.chat.completions.create(request);
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  let text = "", finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.delta.content ?? "";
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  assert.ok(chunks > 3, "streamed in pieces");
  assert.equal(text, whole.choices[0].message.content);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);
});

test("a cancelled stream stops early", async () => {
  const stream = await client.completions.create({
    model, prompt: "Once", max_tokens: 1900, stream: true, ignore_eos: true,
  });
  let pieces = 0;
  for await (const chunk of stream) {
    pieces++;
    if (pieces === 5) stream.controller.abort();
  }
  assert.ok(pieces >= 5 && pieces < 100, "stopped after " + pieces + " pieces");
  // The server frees the slot at once: the next request is answered promptly.
  const started = Date.now();
  const r = await client.completions.create({ model, prompt: "Hi", max_tokens: 2 });
  assert.equal(r.choices.length, 1);
  assert.ok(Date.now() - started < 5000);
});

test("errors arrive as the package's typed errors", async () => {
  await assert.rejects(client.completions.create({ model: "no-such-model", prompt: "a" }),
    e => e instanceof OpenAI.NotFoundError && e.status === 404 && /does not exist/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model, messages: [] }),
    e => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === "messages");
  await assert.rejects(client.completions.create({ model, prompt: "a", max_tokens: 1e6 }),
    e => e instanceof OpenAI.BadRequestError && e.code === "context_length_exceeded");
  const wrongKey = new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 });
  if (process.env.LLMNPU_API_KEY) {
    await assert.rejects(wrongKey.models.list(), e => e instanceof OpenAI.AuthenticationError && e.status === 401);
  }
});
