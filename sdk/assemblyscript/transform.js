// The SDK's compiler transform: turns each "// @wnode KIND INPUT OUTPUT DOC" line comment
// placed just above an "export function NAME" of an entry file into the record
// "v1 method NAME KIND INPUT OUTPUT DOC" of the module's metadata section "wnode.meta"
// (docs/spec/metadata.md in the wnode repository). asconfig.json loads it with
// "transform"; node is the only dependency. The node validates the records at deploy.
import { Transform } from "assemblyscript/transform";

const COMMENT = /^[ \t]*\/\/[ \t]*@wnode\b(.*)$/;
const EXPORT = /^[ \t]*export[ \t]+function[ \t]+([A-Za-z_$][\w$]*)/;
const USER_ENTRY = 1; // SourceKind.UserEntry
const KINDS = ["view", "change"];
const FORMATS = ["none", "bytes", "text", "json", "u64", "u256", "address"];

export default class WnodeMetadata extends Transform {
  afterParse(parser) {
    this.records = [];
    for (const source of parser.sources) {
      if (source.sourceKind !== USER_ENTRY) continue;
      const lines = source.text.split("\n");
      for (let i = 0; i < lines.length; i++) {
        const m = COMMENT.exec(lines[i].replace(/\r$/, ""));
        if (!m) continue;
        const where = `${source.normalizedPath}:${i + 1}`;
        const fields = m[1].trim().split(/[ \t]+/);
        if (fields.length < 3) {
          throw new Error(`${where}: want "// @wnode KIND INPUT OUTPUT DOC"`);
        }
        const [kind, input, output, ...doc] = fields;
        if (!KINDS.includes(kind)) {
          throw new Error(`${where}: kind "${kind}" is not ${KINDS.join(" or ")}`);
        }
        for (const f of [input, output]) {
          if (!FORMATS.includes(f)) {
            throw new Error(`${where}: format "${f}" is not one of ${FORMATS.join(", ")}`);
          }
        }
        let j = i + 1;
        while (j < lines.length && lines[j].trim() === "") j++;
        const e = j < lines.length ? EXPORT.exec(lines[j]) : null;
        if (!e) {
          throw new Error(`${where}: // @wnode must be followed by an export function`);
        }
        const text = doc.join(" ");
        this.records.push(`v1 method ${e[1]} ${kind} ${input} ${output}${text ? " " + text : ""}\n`);
      }
    }
  }

  afterCompile(module) {
    if (this.records.length > 0) {
      module.addCustomSection("wnode.meta", new TextEncoder().encode(this.records.join("")));
    }
  }
}
