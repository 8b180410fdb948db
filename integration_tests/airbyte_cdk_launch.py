"""Run an Airbyte declarative manifest with airbyte-cdk, as a manifest-only connector image does.

Run by the airbyte-cdk virtualenv's interpreter (integration_tests/airbyte_cdk.py), never by ours:

    <cdk venv>/bin/python airbyte_cdk_launch.py MANIFEST spec|check|discover|read [--config F] [--catalog F] [--state F]

This is what ``source-declarative-manifest`` does for a manifest baked into its image
(``SourceLocalYaml`` + ``launch``), with the manifest's path given instead of the image's fixed one, so
``spec`` answers the manifest's own spec. When the manifest's directory is a Python package (it has an
``__init__.py``), the source class belongs to it, as in Airbyte's connector packages: a manifest without
``spec`` then gets the package's ``spec.yaml``/``spec.json``, the way the CDK finds them there.
"""

from __future__ import annotations

import sys
from pathlib import Path

from airbyte_cdk.entrypoint import AirbyteEntrypoint, launch
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource


def source_class(manifest: str) -> type[YamlDeclarativeSource]:
    package = Path(manifest).resolve().parent
    if not (package / "__init__.py").is_file():
        return YamlDeclarativeSource
    sys.path.insert(0, str(package.parent))
    return type("ManifestSource", (YamlDeclarativeSource,), {"__module__": f"{package.name}.source"})


def main(manifest: str, args: list[str]) -> None:
    source_cls = source_class(manifest)
    parsed = AirbyteEntrypoint.parse_args(args)
    config_path = getattr(parsed, "config", None)
    catalog_path = getattr(parsed, "catalog", None)
    state_path = getattr(parsed, "state", None)
    source = source_cls(
        path_to_yaml=manifest,
        config=source_cls.read_config(config_path) if config_path else None,
        catalog=source_cls.read_catalog(catalog_path) if catalog_path else None,
        state=source_cls.read_state(state_path) if state_path else None,
        config_path=config_path,
    )
    launch(source, args)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
