// The three message shapes the codec benchmarks use, built identically in TypeScript and Python.
import { Message, PyDateTime } from "../lib/posttroll/message.ts";

/** Fixed header fields so both sides encode the same bytes. */
export const SENDER = "satuser@receiver01.example.org";
export const TIME_ISO = "2026-06-22T12:00:00.123456+00:00";

/** Python expression building the same data as {@linkcode fileEventData}. */
export const PY_FILE_EVENT = String.raw`{
  "start_time": dt.datetime(2026, 6, 22, 11, 58, 3, 250000, tzinfo=dt.timezone.utc),
  "end_time": dt.datetime(2026, 6, 22, 12, 9, 41, 750000, tzinfo=dt.timezone.utc),
  "orbit_number": 34567,
  "platform_name": "NOAA-20",
  "sensor": ["viirs"],
  "format": "SDR",
  "data_processing_level": "1B",
  "uri": "/data/pytroll/sdr/SVM05_j01_d20260622_t1158032_e1209417_b34567_c20260622121530_cspp_dev.h5",
  "uid": "SVM05_j01_d20260622_t1158032_e1209417_b34567_c20260622121530_cspp_dev.h5",
  "variant": "DR",
  "origin": "172.29.1.2:9010",
  "processing_time": dt.datetime(2026, 6, 22, 12, 15, 30, tzinfo=dt.timezone.utc),
  "creation_time": dt.datetime(2026, 6, 22, 12, 15, 31, 5, tzinfo=dt.timezone.utc),
  "dataset": [
    {"uri": "/data/pytroll/sdr/GMTCO_j01.h5", "uid": "GMTCO_j01.h5"},
    {"uri": "/data/pytroll/sdr/SVM01_j01.h5", "uid": "SVM01_j01.h5"},
    {"uri": "/data/pytroll/sdr/SVM02_j01.h5", "uid": "SVM02_j01.h5"}
  ],
  "area": "euron1",
  "sat_lat": 62.5,
  "sat_lon": 15.25,
  "sun_zenith_angle": 87.512,
  "coverage": 0.875,
  "filesize": 123456789,
  "checksum": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
  "station": "norrk\u00f6ping"
}`;

/** ~22 fields with five datetimes, like a satellite-pass file event. */
export function fileEventData(): Record<string, unknown> {
  const t = (s: string) => PyDateTime.fromisoformat(s);
  return {
    start_time: t("2026-06-22T11:58:03.250000+00:00"),
    end_time: t("2026-06-22T12:09:41.750000+00:00"),
    orbit_number: 34567,
    platform_name: "NOAA-20",
    sensor: ["viirs"],
    format: "SDR",
    data_processing_level: "1B",
    uri:
      "/data/pytroll/sdr/SVM05_j01_d20260622_t1158032_e1209417_b34567_c20260622121530_cspp_dev.h5",
    uid: "SVM05_j01_d20260622_t1158032_e1209417_b34567_c20260622121530_cspp_dev.h5",
    variant: "DR",
    origin: "172.29.1.2:9010",
    processing_time: t("2026-06-22T12:15:30+00:00"),
    creation_time: t("2026-06-22T12:15:31.000005+00:00"),
    dataset: [
      { uri: "/data/pytroll/sdr/GMTCO_j01.h5", uid: "GMTCO_j01.h5" },
      { uri: "/data/pytroll/sdr/SVM01_j01.h5", uid: "SVM01_j01.h5" },
      { uri: "/data/pytroll/sdr/SVM02_j01.h5", uid: "SVM02_j01.h5" },
    ],
    area: "euron1",
    sat_lat: 62.5,
    sat_lon: 15.25,
    sun_zenith_angle: 87.512,
    coverage: 0.875,
    filesize: 123456789,
    checksum: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    station: "norrköping",
  };
}

/** 64 KiB of printable ASCII (deterministic). */
export function binaryPayload(): string {
  let s = "";
  let x = 12345;
  for (let i = 0; i < 65536; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(33 + (x >> 16) % 94);
  }
  return s;
}

/** A benchmark shape: the message, and the JSON text a bare `JSON.parse` reference parses. */
export interface Shape {
  name: string;
  message: Message;
  /** JSON text of the same payload (the data as JSON; strings as JSON strings). */
  json: string;
  /** Python statement assigning `msg`. */
  py: string;
}

/** The three shapes. */
export function shapes(): Shape[] {
  const fixed = { sender: SENDER, time: PyDateTime.fromisoformat(TIME_ISO) };
  const text = "Hello from the receiving station, pass 34567 is complete.";
  const fe = new Message(
    "/oper/polar/direct_readout/norrk\u00f6ping",
    "file",
    fileEventData(),
    fixed,
  );
  const bin = binaryPayload();
  const feRaw = fe.encode();
  return [
    {
      name: "short text",
      message: new Message("/oper/heartbeat", "info", text, fixed),
      json: JSON.stringify(text),
      py: `msg = Message("/oper/heartbeat", "info", ${JSON.stringify(text)})`,
    },
    {
      name: "file event (22 fields, 5 datetimes)",
      message: fe,
      json: feRaw.slice(feRaw.indexOf("application/json ") + 17),
      py: `msg = Message("/oper/polar/direct_readout/norrk\\u00f6ping", "file", ${PY_FILE_EVENT})`,
    },
    {
      name: "64 KiB binary",
      message: new Message("/oper/raw/hrpt", "file", bin, { ...fixed, binary: true }),
      json: JSON.stringify(bin),
      py: `msg = Message("/oper/raw/hrpt", "file", BIN, binary=True)`,
    },
  ];
}
