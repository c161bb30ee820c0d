{
  "variables": {
    "simdjson_dir": "<!(node -p \"require('path').relative('.', require('path').join(require('path').dirname(require.resolve('@nozbe/simdjson/package.json')), 'src'))\")"
  },
  "targets": [
    {
      "target_name": "sluice_native",
      "sources": ["json_scanner.cc", "<(simdjson_dir)/simdjson.cpp"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "<(simdjson_dir)"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "SIMDJSON_EXCEPTIONS=0"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-std=gnu++17", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3"]
    }
  ]
}
