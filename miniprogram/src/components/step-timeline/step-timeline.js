/** A vertical list of steps: done ones ticked, the current one highlighted. */
Component({
  options: { addGlobalClass: true },
  properties: {
    steps: { type: Array, value: [] },
  },
})
