{
  # The librdkafka that node-rdkafka built (headers in include/, librdkafka.so.1), found the way
  # Node finds node-rdkafka from here, symlinks kept (--preserve-symlinks): the rpath is then
  # relative to where the .node file sits ($ORIGIN), so the addon also loads on its own and follows
  # the package if it is moved. In Sluice it is always loaded after node-rdkafka, which has already
  # mapped the same librdkafka.so.1.
  "variables": {
    "rdkafka_deps": "<!(node --preserve-symlinks -p \"require('path').join(require('path').dirname(require.resolve('node-rdkafka/package.json')), 'build', 'deps')\")",
    "rdkafka_rpath": "<!(node --preserve-symlinks -p \"require('path').relative(require('path').resolve('build', 'Release'), require('path').join(require('path').dirname(require.resolve('node-rdkafka/package.json')), 'build', 'deps'))\")"
  },
  "targets": [
    {
      "target_name": "sluice_kafka",
      "sources": ["sluice_kafka.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "libraries": ["-L<(rdkafka_deps)", "-lrdkafka", "-Wl,-rpath,'$$ORIGIN/<(rdkafka_rpath)'"],
      "cflags!": ["-O3"],
      "cflags_cc!": ["-std=gnu++17", "-O3"],
      "cflags_cc": ["-std=c++17", "-O2", "-isystem", "<(rdkafka_deps)/include"]
    }
  ]
}
