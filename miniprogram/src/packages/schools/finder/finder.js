/** 查找学校: town → village/community → the zoned school(s). */
const ui = require('../../../utils/ui')
const catalogue = require('../../../services/catalogue')
const { SCHOOL_TYPE } = require('../../../config/domain')

Page(ui.page({
  data: { towns: [], townNames: [], townIndex: -1, villages: [], villageNames: [],
    villageIndex: -1, result: null, searching: false },

  onLoad() {
    return catalogue.listRegions().then(towns => {
      this.setData({ towns, townNames: towns.map(t => t.name) })
    }, err => ui.showError(err))
  },

  onTown(e) {
    const townIndex = Number(e.detail.value)
    const villages = this.data.towns[townIndex].villages
    this.setData({ townIndex, villages, villageNames: villages.map(v => v.name),
      villageIndex: -1, result: null })
  },

  onVillage(e) {
    const villageIndex = Number(e.detail.value)
    this.setData({ villageIndex, searching: true })
    return catalogue.lookupZone(this.data.villages[villageIndex].code).then(result => {
      this.setData({
        searching: false,
        result: Object.assign({}, result, {
          schools: result.schools.map(s => Object.assign({}, s, { typeName: SCHOOL_TYPE[s.type] })),
        }),
      })
    }, err => {
      this.setData({ searching: false })
      ui.showError(err)
    })
  },

  onSchool(e) {
    wx.navigateTo({ url: `/packages/schools/school/school?code=${encodeURIComponent(e.currentTarget.dataset.code)}` })
  },
}))
