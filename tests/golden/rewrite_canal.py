#!/usr/bin/env python3
"""Rewrites a golden case's Canal flat messages as Debezium and Maxwell write
the same changes, so that one change history exists in every format:

  tests/golden/rewrite_canal.py shop_lifecycle

writes shop_lifecycle.debezium.jsonl (Kafka Connect JsonConverter with the
schema envelope; DECIMAL in precise mode, DATETIME as io.debezium.time.Timestamp,
one message per row, DDL as a schema-change event) and
shop_lifecycle.maxwell.jsonl (typed values, DECIMAL as a bare JSON number
keeping its scale, one message per row, the rows of one Canal message as one
transaction — and consecutive Canal messages of one batch `id` too: a shared
xid, xoffset on all but the last row, commit on the last).
A line that is not JSON (a truncated message) is kept as it is."""
import base64
import calendar
import datetime
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def s(text):
    return json.dumps(text, ensure_ascii=False)


def kind_of(mysql_type):
    t = mysql_type.lower()
    if t.startswith("decimal"):
        scale = int(t.split(",")[1].rstrip(")")) if "," in t else 0
        return ("decimal", scale)
    if t.startswith(("bigint", "int", "smallint", "tinyint", "mediumint")):
        return ("int", 0)
    if t.startswith("datetime"):
        return ("datetime", 0)
    return ("string", 0)


def epoch_ms_of_wall_clock(text):
    dt = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return calendar.timegm(dt.timetuple()) * 1000


def decimal_bytes(text, scale):
    whole, _, frac = text.partition(".")
    frac = (frac + "0" * scale)[:scale]
    unscaled = int(whole + frac)
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


def debezium_value(value, kind):
    if value is None:
        return "null"
    k, scale = kind
    if k == "int":
        return value
    if k == "decimal":
        return s(decimal_bytes(value, scale))
    if k == "datetime":
        return str(epoch_ms_of_wall_clock(value))
    return s(value)


def maxwell_value(value, kind):
    if value is None:
        return "null"
    if kind[0] in ("int", "decimal"):
        return value  # the exact text, as Maxwell writes it
    return s(value)


def image(row, kinds, render):
    return "{" + ",".join(s(c) + ":" + render(v, kinds[c]) for c, v in row.items()) + "}"


def connect_schema(kinds, table):
    def column(name):
        k, scale = kinds[name]
        if k == "int":
            return {"type": "int64", "optional": name != "id", "field": name}
        if k == "decimal":
            return {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
                    "version": 1, "parameters": {"scale": str(scale), "connect.decimal.precision": "12"},
                    "field": name}
        if k == "datetime":
            return {"type": "int64", "optional": True, "name": "io.debezium.time.Timestamp",
                    "version": 1, "field": name}
        return {"type": "string", "optional": True, "field": name}
    value = {"type": "struct", "fields": [column(c) for c in kinds], "optional": True,
             "name": f"shop.shop.{table}.Value"}
    source = {"type": "struct", "fields": [
        {"type": "string", "optional": False, "field": f} for f in ("version", "connector", "name")] + [
        {"type": "int64", "optional": False, "field": "ts_ms"},
        {"type": "string", "optional": False, "field": "db"},
        {"type": "string", "optional": True, "field": "table"},
        {"type": "string", "optional": True, "field": "file"},
        {"type": "int64", "optional": False, "field": "pos"}],
        "optional": False, "name": "io.debezium.connector.mysql.Source", "field": "source"}
    return json.dumps({"type": "struct", "fields": [
        dict(value, field="before"), dict(value, field="after"), source,
        {"type": "string", "optional": False, "field": "op"},
        {"type": "int64", "optional": True, "field": "ts_ms"}],
        "optional": False, "name": f"shop.shop.{table}.Envelope", "version": 1},
        separators=(",", ":"))


def debezium_source(m, pos):
    return ('{"version":"2.7.3.Final","connector":"mysql","name":"shop","ts_ms":%d,"db":%s,'
            '"table":%s,"file":"mysql-bin.000003","pos":%d}' % (m["es"], s(m["database"]),
                                                                  s(m["table"]), pos))


def to_debezium(m, line_number):
    pos = 4 + 1000 * line_number
    if m.get("isDdl"):
        return ['{"source":%s,"databaseName":%s,"ddl":%s,"tableChanges":[]}' %
                (debezium_source(m, pos), s(m["database"]), s(m["sql"]))]
    kinds = {c: kind_of(t) for c, t in m["mysqlType"].items()}
    op = {"INSERT": "c", "UPDATE": "u", "DELETE": "d"}[m["type"]]
    out = []
    for i, row in enumerate(m["data"]):
        before, after = "null", image(row, kinds, debezium_value)
        if op == "u":
            before = image(dict(row, **m["old"][i]), kinds, debezium_value)
        elif op == "d":
            before, after = after, "null"
        payload = '{"before":%s,"after":%s,"source":%s,"op":"%s","ts_ms":%d}' % (
            before, after, debezium_source(m, pos), op, m["ts"])
        out.append('{"schema":%s,"payload":%s}' % (connect_schema(kinds, m["table"]), payload))
    return out


def to_maxwell(m, line_number, ends_transaction=True):
    head = '"database":%s,"table":%s' % (s(m["database"]), s(m["table"]))
    if m.get("isDdl"):
        return ['{%s,"type":"table-alter","ts":%d,"sql":%s}' % (head, m["ts"], s(m["sql"]))]
    kinds = {c: kind_of(t) for c, t in m["mysqlType"].items()}
    kind = m["type"].lower()
    rows = m["data"]
    out = []
    for i, row in enumerate(rows):
        tx = '"xid":%d,' % (1000 + m["id"])
        last = ends_transaction and i == len(rows) - 1
        tx += '"commit":true' if last else '"xoffset":%d' % i
        line = '{%s,"type":"%s","ts":%d,%s,"position":"mysql-bin.000003:%d","data":%s' % (
            head, kind, m["es"] // 1000, tx, 4 + 1000 * line_number, image(row, kinds, maxwell_value))
        if kind == "update":
            line += ',"old":' + image(m["old"][i], kinds, maxwell_value)
        out.append(line + "}")
    return out


def main():
    name = sys.argv[1]
    lines = (HERE / f"{name}.jsonl").read_text().splitlines()

    def parsed(line):
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return None

    messages = [parsed(line) for line in lines]
    for fmt in ("debezium", "maxwell"):
        out = []
        for number, (line, m) in enumerate(zip(lines, messages), 1):
            if m is None:
                out.append(line)
            elif fmt == "debezium":
                out.extend(to_debezium(m, number))
            else:
                following = messages[number] if number < len(messages) else None
                ends = not (following and following.get("id") == m.get("id"))
                out.extend(to_maxwell(m, number, ends))
        (HERE / f"{name}.{fmt}.jsonl").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
