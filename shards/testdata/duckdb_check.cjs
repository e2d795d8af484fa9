// Reads Parquet files with DuckDB (node API) and prints, as JSON, the column types, the
// Hugging Face features metadata and, per row, the id, image sha256s and chat columns.
// Usage: NODE_PATH=…/node_modules node duckdb_check.cjs 'DIR/*.parquet'
const { DuckDBInstance } = require("@duckdb/node-api");
const crypto = require("crypto");

async function main() {
  const glob = process.argv[2];
  const inst = await DuckDBInstance.create(":memory:");
  const conn = await inst.connect();
  const q = (sql) => conn.runAndReadAll(sql);
  const lit = glob.replace(/'/g, "''");
  const describe = (await q(`DESCRIBE SELECT * FROM read_parquet('${lit}')`)).getRowObjectsJson();
  const kv = (await q(`SELECT DISTINCT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata('${lit}')`)).getRowObjectsJson();
  const cols = describe.map((r) => r.column_name);
  const chat = cols.includes("messages");
  const sel = chat
    ? "id, images, messages, prompt, problem, answer, solution, reward_model.ground_truth AS gt, data_source, ability, extra_info.index AS idx"
    : "id, images, caption";
  const reader = await q(`SELECT ${sel} FROM read_parquet('${lit}', filename=true, file_row_number=true) ORDER BY filename, file_row_number`);
  const rows = reader.getRowObjects().map((r) => {
    const out = { id: r.id };
    out.images = r.images.items.map((im) => {
      const e = im.entries;
      return { sha256: crypto.createHash("sha256").update(Buffer.from(e.bytes.bytes)).digest("hex"), path: e.path };
    });
    if (chat) {
      out.messages = r.messages.items.map((m) => ({ role: m.entries.role, content: m.entries.content }));
      out.prompt = r.prompt.items.map((m) => ({ role: m.entries.role, content: m.entries.content }));
      for (const k of ["problem", "answer", "solution", "gt", "data_source", "ability"]) out[k] = r[k];
      out.idx = Number(r.idx);
    } else {
      out.caption = r.caption;
    }
    return out;
  });
  const types = {};
  for (const r of describe) types[r.column_name] = r.column_type;
  process.stdout.write(JSON.stringify({ types, metadata: kv, rows }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
