// How both browser tests start Chromium: Debian's (apt), never a browser download, and
// without the background requests it makes to outside hosts at every start.
module.exports = {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
  ]
};
