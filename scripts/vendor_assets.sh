#!/usr/bin/env bash
# Fetch pinned Leaflet builds and plotly.js's basic bundle (scatter, bar, pie: all the charts use) from the npm
# registry into static/vendor (install time only; nothing is fetched at run time).
set -euo pipefail
leaflet=$1; cluster=$2; plotly=$3
dest=static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$dest"; mkdir -p "$dest"
(cd "$tmp" && npm pack --silent "leaflet@$leaflet" "leaflet.markercluster@$cluster" \
   "plotly.js-basic-dist-min@$plotly" >/dev/null)
tar -xzf "$tmp/leaflet-$leaflet.tgz" -C "$tmp"
cp -r "$tmp/package/dist/." "$dest/leaflet"
rm -rf "$tmp/package"
tar -xzf "$tmp/leaflet.markercluster-$cluster.tgz" -C "$tmp"
mkdir -p "$dest/markercluster"
cp "$tmp/package/dist/leaflet.markercluster.js" "$tmp/package/dist/MarkerCluster.css" \
   "$tmp/package/dist/MarkerCluster.Default.css" "$dest/markercluster/"
rm -rf "$tmp/package"
tar -xzf "$tmp/plotly.js-basic-dist-min-$plotly.tgz" -C "$tmp"
mkdir -p "$dest/plotly"
cp "$tmp/package/plotly-basic.min.js" "$tmp/package/LICENSE" "$dest/plotly/"
