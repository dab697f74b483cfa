"""The provenance log's database: tables, engines, migrations, and copying a log from one database to another."""
