// Moves a Node process's clock ahead as sitecustomize.py moves Python's (`make
// test-clock`): a token Node signs must not look a year old to the server.
const days = Number(process.env.FOLLOWUP_TEST_CLOCK_AHEAD_DAYS || 0);
if (days) {
  const realNow = Date.now;
  Date.now = () => realNow() + days * 86400000;
}
