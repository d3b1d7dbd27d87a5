// The CSV import's parsing and its row checks: the browser previews with these, the server re-checks with them.
import { describe, expect, it } from "vitest";
import { mapHeader, markDuplicates, parseCsv, validateImportRow } from "@/lib/validation/import";

describe("parseCsv", () => {
  it("reads quoted cells with commas, doubled quotes and quotes inside unquoted cells", () => {
    expect(parseCsv('name,tags,note\nsensor-1,"a;b","say ""hi"", twice"\nsensor-2,x,5" screen\n')).toEqual([
      ["name", "tags", "note"],
      ["sensor-1", "a;b", 'say "hi", twice'],
      ["sensor-2", "x", '5" screen'],
    ]);
  });

  it("drops a byte-order mark and reads CRLF line ends", () => {
    const rows = parseCsv("\uFEFFname,external_id\r\nsensor-1,SN-1\r\nsensor-2,SN-2\r\n");
    expect(rows).toEqual([["name", "external_id"], ["sensor-1", "SN-1"], ["sensor-2", "SN-2"]]);
    expect(mapHeader(rows[0]).columns[0]).toEqual({ kind: "name" });
  });

  it("keeps newlines inside quoted cells, in LF and CRLF files alike", () => {
    expect(parseCsv('name,address\nsensor-1,"Hall 3\nShelf 2"\nsensor-2,plain\n')).toEqual([["name", "address"], ["sensor-1", "Hall 3\nShelf 2"], ["sensor-2", "plain"]]);
    expect(parseCsv('name,address\r\nsensor-1,"Hall 3\r\nShelf 2"\r\nsensor-2,plain')).toEqual([["name", "address"], ["sensor-1", "Hall 3\r\nShelf 2"], ["sensor-2", "plain"]]);
  });

  it("skips blank and whitespace-only lines but keeps a line of empty cells, and never guesses another delimiter", () => {
    expect(parseCsv("name;tags\n\na;b\n   \n,\n")).toEqual([["name;tags"], ["a;b"], ["", ""]]);
  });

  it("parses 50,000 rows quickly and in order", () => {
    const lines = ["name,external_id,tags,site"];
    for (let i = 0; i < 50_000; i++) lines.push(`sensor-${i},SN-${i},"sensor;site:s${i % 7}",hall ${i % 13}`);
    const started = performance.now();
    const rows = parseCsv(lines.join("\r\n"));
    const ms = performance.now() - started;
    expect(rows).toHaveLength(50_001);
    expect(rows[1]).toEqual(["sensor-0", "SN-0", "sensor;site:s0", "hall 0"]);
    expect(rows[25_001]).toEqual(["sensor-25000", "SN-25000", "sensor;site:s3", "hall 1"]);
    expect(rows[50_000]).toEqual(["sensor-49999", "SN-49999", "sensor;site:s5", "hall 1"]);
    // Well under a second here even beside other suites; the bound only catches a quadratic parser.
    expect(ms).toBeLessThan(5_000);
  });
});

describe("import row checks", () => {
  const { columns, errors } = mapHeader(["name", "external_id", "tags", "metadata", "site"]);

  it("maps the header, with every unknown column as metadata", () => {
    expect(errors).toEqual([]);
    expect(columns.map((c) => c.kind)).toEqual(["name", "externalId", "tags", "metadataJson", "metadata"]);
    expect(mapHeader(["device", "Device Name"]).errors).toEqual(['Column "Device Name" appears twice']);
    expect(mapHeader(["serial"]).errors).toEqual(['The header needs a "name" column']);
  });

  it("reports each bad cell by field, and duplicates by the line they repeat", () => {
    const rows = parseCsv('name,external_id,tags,metadata,site\nsensor-1,SN-1,a;b,"{""fw"":2}",lab\nbad name,SN-2,,,lab\nsensor-3,SN-3,,[1],lab\nsensor-1,SN-1,,,lab\n');
    const results = rows.slice(1).map((cells, i) => validateImportRow(columns, cells, i + 2));
    markDuplicates(results);
    expect(results[0]).toMatchObject({ line: 2, name: "sensor-1", externalId: "SN-1", tags: ["a", "b"], metadata: { fw: 2, site: "lab" }, errors: [] });
    expect(results[1].errors).toEqual([{ field: "name", message: "Letters, digits, '.', '_' and '-' only, starting with a letter or digit" }]);
    expect(results[2].errors).toEqual([{ field: "metadata", message: "metadata must be a JSON object" }]);
    expect(results[3].errors).toEqual([
      { field: "name", message: "Duplicate of line 2 in this file" },
      { field: "external id", message: "Duplicate of line 2 in this file" },
    ]);
    expect(validateImportRow(columns, ["a", "b", "c", "", "", "extra"], 9).errors).toEqual([{ field: "row", message: "6 cells but 5 columns" }]);
  });
});
