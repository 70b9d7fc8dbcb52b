#!/usr/bin/env python3
"""Validate an HSDS 3.0 export against the official Open Referral JSON schemas.

usage: validate-hsds.py EXPORT_DIR [--schemas SCHEMA_DIR]

EXPORT_DIR holds an export of Qiao's `exportDirectory` (either form): `datapackage.json` and one
file per table, JSON arrays (`service.json`) or CSV (`services.csv`). Every record of every HSDS
table file is validated against `<table>.json` of SCHEMA_DIR, with `$ref`s between the schema
files resolved and formats checked (uuid, email, date; uri and date-time too when the optional
packages jsonschema uses for them are installed). A record must also carry the fields the schema
lists as `tabular_required`, and ids must be unique within a table. Qiao's extension tables
(`x-qiao-*` resources) have no HSDS schema and are skipped.

SCHEMA_DIR defaults to ../shared/data/hsds-3.0/schema beside the repository: the schemas are
referenced there, not copied into the project.

Exit status: 0 valid, 1 invalid records (each one reported), 2 unusable input or setup.
"""

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import NoReturn

EXTENSION_PREFIX = "x-qiao-"
DESCRIPTOR = "datapackage.json"
MAX_REPORTED_PER_FILE = 50


def default_schema_dir() -> Path:
    repository = Path(__file__).resolve().parent.parent
    return repository.parent / "shared" / "data" / "hsds-3.0" / "schema"


def fail_setup(message: str) -> NoReturn:
    print(f"validate-hsds: {message}", file=sys.stderr)
    sys.exit(2)


def load_schemas(schema_dir: Path):
    """Table schemas by table name, the registry resolving `$ref`s between schema files, and the
    CSV file names HSDS gives each table (`services.csv` -> `service`)."""
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
    except ImportError:
        fail_setup("the Python package jsonschema (4.18 or newer) is needed: python3 -m pip install jsonschema")
    if not schema_dir.is_dir():
        fail_setup(f"no schema directory at {schema_dir} (give one with --schemas)")
    tables, resources, csv_names = {}, [], {}
    for path in sorted(schema_dir.glob("*.json")):
        try:
            contents = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            fail_setup(f"schema {path} is unreadable: {error}")
        # Registered under their file names: the schemas refer to each other as "phone.json".
        resources.append((path.name, Resource.from_contents(contents, default_specification=DRAFT202012)))
        if isinstance(contents, dict) and isinstance(contents.get("properties"), dict) and "name" in contents:
            tables[contents["name"]] = contents
            if isinstance(contents.get("path"), str):
                csv_names[contents["path"]] = contents["name"]
    if not tables:
        fail_setup(f"no HSDS table schemas in {schema_dir}")
    return tables, Registry().with_resources(resources), csv_names


def resources_of(export_dir: Path, csv_names: dict):
    """(table name, file path) of every table file of the export."""
    descriptor = export_dir / DESCRIPTOR
    if descriptor.is_file():
        try:
            package = json.loads(descriptor.read_text(encoding="utf-8"))
            listed = [(r["name"], export_dir / r["path"]) for r in package["resources"]]
        except (OSError, ValueError, KeyError, TypeError) as error:
            fail_setup(f"{descriptor} is not a data package descriptor with named resources: {error}")
        return listed
    found = []
    for path in sorted(export_dir.iterdir()):
        if path.suffix == ".json" and path.name != DESCRIPTOR:
            found.append((path.stem, path))
        elif path.suffix == ".csv":
            found.append((csv_names.get(path.name, path.stem), path))
    return found


def typed_csv_record(row: dict, schema: dict) -> dict:
    """A CSV row as the JSON record it stands for: empty cells are absent, numbers are numbers,
    and `x-qiao` (JSON text) is its object."""
    properties = schema.get("properties", {})
    record = {}
    for name, cell in row.items():
        if name is None or cell is None or cell == "":
            continue
        kind = properties.get(name, {}).get("type")
        if kind == "number":
            try:
                number = float(cell)
                record[name] = int(number) if number.is_integer() else number
            except ValueError:
                record[name] = cell  # left as text, so the schema reports it
        elif name == "x-qiao":
            try:
                record[name] = json.loads(cell)
            except ValueError:
                record[name] = cell
        else:
            record[name] = cell
    return record


def read_records(path: Path, schema: dict):
    """The file's records, or an error message."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        return None, f"cannot read the file: {error}"
    if path.suffix == ".csv":
        return [typed_csv_record(row, schema) for row in csv.DictReader(text.splitlines(keepends=True))], None
    try:
        records = json.loads(text)
    except ValueError as error:
        return None, f"not valid JSON: {error}"
    if not isinstance(records, list):
        return None, "not a JSON array of records"
    return records, None


def validate_table(table: str, path: Path, schema: dict, registry) -> tuple[int, list[str]]:
    from jsonschema import Draft202012Validator

    records, problem = read_records(path, schema)
    if problem:
        return 0, [f"{path.name}: {problem}"]
    validator = Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
    tabular_required = schema.get("tabular_required", [])
    problems, seen_ids = [], {}
    for index, record in enumerate(records, start=1):
        label = f"{path.name} record {index}"
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            label += f" (id {record['id']})"
            if record["id"] in seen_ids:
                problems.append(f"{label}: id: the same id as record {seen_ids[record['id']]}")
            seen_ids.setdefault(record["id"], index)
        for error in sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(part) for part in error.absolute_path) or "(record)"
            problems.append(f"{label}: {where}: {error.message}")
        if isinstance(record, dict):
            for field in tabular_required:
                if record.get(field) in (None, ""):
                    problems.append(f"{label}: {field}: required in the tabular form ({table} table)")
    return len(records), problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export_dir", type=Path, help="directory of an HSDS export")
    parser.add_argument("--schemas", type=Path, default=default_schema_dir(), help="HSDS 3.0 schema directory")
    args = parser.parse_args()
    if not args.export_dir.is_dir():
        fail_setup(f"{args.export_dir} is not a directory")
    schemas, registry, csv_names = load_schemas(args.schemas)

    total_records, failures, skipped = 0, [], []
    resources = resources_of(args.export_dir, csv_names)
    if not resources:
        fail_setup(f"{args.export_dir} holds no table files")
    for table, path in resources:
        if table.startswith(EXTENSION_PREFIX):
            skipped.append(path.name)
            continue
        if table not in schemas:
            failures.append(f"{path.name}: no HSDS 3.0 table is called {table!r}")
            continue
        if not path.is_file():
            failures.append(f"{path.name}: listed in {DESCRIPTOR} but missing")
            continue
        count, problems = validate_table(table, path, schemas[table], registry)
        total_records += count
        if problems:
            failures.extend(problems[:MAX_REPORTED_PER_FILE])
            if len(problems) > MAX_REPORTED_PER_FILE:
                failures.append(f"{path.name}: ... and {len(problems) - MAX_REPORTED_PER_FILE} more problems")
        print(f"{'FAIL' if problems else 'ok  '} {path.name}: {count} records against {table}.json")

    if skipped:
        print(f"skipped (Qiao extensions, no HSDS schema): {', '.join(skipped)}")
    if failures:
        print(f"\nHSDS 3.0 validation FAILED: {len(failures)} problems", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print(f"HSDS 3.0 validation passed: {total_records} records in {len(resources) - len(skipped)} tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
