"""The Leadbridge Spark server: the one Spark application of the `spark` target.

Hive's embedded metastore (Derby) admits one JVM, and the nightly job has several actors
(dbt, the checks, the publication) besides BI tools. So one long-running driver owns the
metastore and the warehouse folder and serves both Spark Connect (every actor of the
nightly job is a Connect client: `leadbridge.spark.connect`, dbt's `spark.remote`) and
the Thrift server BI tools read through (JDBC/ODBC, HiveServer2's protocol). Its
executors run on `$LEADBRIDGE_SPARK_MASTER`. Run it with `python -m leadbridge.spark_server`.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from leadbridge.paths import REPO_ROOT
from leadbridge.settings import Settings

# The Connect service as a plugin of an ordinary driver: the same JVM then serves the
# Thrift server too (SparkConnectServer's own main would not).
CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
READY = "Leadbridge Spark server ready"


def warehouse_folder(settings: Settings) -> Path:
    """`$LEADBRIDGE_SPARK_WAREHOUSE`, a relative path read from the repository's root."""
    return (REPO_ROOT / settings.spark["warehouse"]).resolve()


def server_conf(
    environ: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The Spark configuration of the server under `environ`: master, Connect and Thrift
    addresses, warehouse and metastore folders, UTC; `extra` on top (e.g. a web UI)."""
    settings = Settings.from_env(environ)
    spark = settings.spark
    remote = urlparse(spark["remote"].replace("sc://", "http://", 1))
    folder = warehouse_folder(settings)
    return {
        "spark.master": spark["master"],
        "spark.app.name": "leadbridge",
        "spark.plugins": CONNECT_PLUGIN,
        "spark.connect.grpc.binding.address": remote.hostname or "127.0.0.1",
        "spark.connect.grpc.binding.port": str(remote.port or 15002),
        # read by the Thrift server from the Hive client's configuration only
        "spark.hadoop.hive.server2.thrift.port": str(spark["thrift_port"]),
        "spark.hadoop.hive.server2.thrift.bind.host": remote.hostname or "127.0.0.1",
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        # Hive's metastore_db (and derby.log) go to Derby's home, not the working folder.
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={folder}",
        "spark.sql.catalogImplementation": "hive",
        # Timestamps are UTC throughout the warehouse (dbt_project/macros/time.sql).
        "spark.sql.session.timeZone": "UTC",
        # Small tables: 200 shuffle partitions would make 200 tasks (and files) each.
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # Clients and the Thrift server see one catalog and one set of temporary views.
        "spark.sql.hive.thriftServer.singleSession": "true",
        **(extra or {}),
    }


def start(environ: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None):
    """Start the driver (Connect service included) and its Thrift server in this process;
    the classic SparkSession and the Thrift server (stop both with `stop`)."""
    from pyspark.sql import SparkSession

    conf = server_conf(environ, extra)
    Path(conf["spark.sql.warehouse.dir"]).mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    thrift = session._jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
    return session, thrift.startWithContext(session._jsparkSession.sqlContext())


def stop(session: Any, thrift: Any) -> None:
    """Stop the Thrift server, then the driver."""
    thrift.stop()
    session.stop()


def main(arguments: list[str] | None = None) -> None:
    """Serve until SIGTERM or SIGINT; `--conf key=value` adds Spark settings."""
    parser = argparse.ArgumentParser(prog="python -m leadbridge.spark_server")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE")
    extra = dict(item.split("=", 1) for item in parser.parse_args(arguments).conf)
    session, thrift = start(extra=extra)
    done = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: done.set())
    conf = server_conf(extra=extra)
    connect_port = conf["spark.connect.grpc.binding.port"]
    thrift_port = conf["spark.hadoop.hive.server2.thrift.port"]
    print(f"{READY}: Spark Connect on port {connect_port}, Thrift on {thrift_port}", flush=True)
    done.wait()
    stop(session, thrift)


if __name__ == "__main__":
    main()
