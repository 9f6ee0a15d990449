// Calls Vigil's OpenAI-compatible endpoint with the official openai package and prints what it
// got as one JSON line. Usage: node check.mjs <base URL, e.g. http://127.0.0.1:8080/v1> <api key> <case>
import OpenAI from "openai";

const [baseURL, apiKey, which] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });
const out = {};
try {
  if (which === "models") {
    const page = await client.models.list();
    out.models = page.data.map((m) => m.id);
  } else if (which === "complete") {
    const r = await client.chat.completions.create({
      model: "gw-chat",
      messages: [{ role: "user", content: "Why is db-7.payments.example.com slow?" }],
      temperature: 0.1,
    });
    out.text = r.choices[0].message.content;
    out.finish = r.choices[0].finish_reason;
    out.usage = r.usage;
  } else if (which === "stream") {
    const t0 = performance.now();
    const stream = await client.chat.completions.create({
      model: "gw-chat",
      messages: [{ role: "user", content: "Why is db-7.payments.example.com slow?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    out.chunks = [];
    for await (const chunk of stream) {
      if (out.firstMs === undefined && chunk.choices[0]?.delta?.content) out.firstMs = performance.now() - t0;
      if (chunk.choices[0]?.delta?.content) out.chunks.push(chunk.choices[0].delta.content);
      if (chunk.choices[0]?.finish_reason) out.finish = chunk.choices[0].finish_reason;
      if (chunk.usage) out.usage = chunk.usage;
    }
    out.text = out.chunks.join("");
  } else if (which === "missing") {
    await client.chat.completions.create({ model: "no-such-role", messages: [{ role: "user", content: "hi" }] });
  } else {
    throw new Error("unknown case " + which);
  }
} catch (e) {
  out.error = { name: e.constructor.name, status: e.status ?? null, message: String(e.message) };
  if (which === "stream" && out.chunks) out.text = out.chunks.join("");
}
console.log(JSON.stringify(out));
