// Baseline for bench/upload_throughput.py: @tus/server with its file store, on 127.0.0.1.
//
//   node bench/tus/server.mjs --port PORT --dir DIRECTORY [--durable]
//
// Uploads go to DIRECTORY (one data file and one .json metadata file per upload), served
// under /files/. @tus/file-store never fsyncs: a PATCH is answered once the bytes are in
// the page cache. With --durable, each PATCH (and each creation) is answered only after
// fdatasync of the data file, the durability the gateway promises for every chunk; this
// variant is a reference point only, the plain file store is the baseline.
// Prints "tus listening on http://127.0.0.1:PORT" once it accepts connections.

import fsProm from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    dir: { type: 'string' },
    durable: { type: 'boolean', default: false },
  },
});
if (!values.port || !values.dir) {
  console.error('usage: node server.mjs --port PORT --dir DIRECTORY [--durable]');
  process.exit(2);
}

async function datasync(path) {
  const handle = await fsProm.open(path, 'r+');
  try {
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

class DurableFileStore extends FileStore {
  async create(file) {
    const created = await super.create(file);
    await datasync(this.resolve(file.id));
    return created;
  }

  async write(readable, fileId, offset) {
    const newOffset = await super.write(readable, fileId, offset);
    await datasync(this.resolve(fileId));
    return newOffset;
  }
}

const Store = values.durable ? DurableFileStore : FileStore;
const server = new Server({
  path: '/files',
  datastore: new Store({ directory: values.dir }),
});

const port = Number(values.port);
const listener = server.listen({ host: '127.0.0.1', port }, () => {
  console.log(`tus listening on http://127.0.0.1:${port}${values.durable ? ' (durable)' : ''}`);
});

function shutdown() {
  listener.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
