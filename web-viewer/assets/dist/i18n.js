// Interface strings (Chinese by default, English on request) and the vocabularies
// the pages display: event taxonomy (geo-core/src/taxonomy.rs), statuses, sources,
// grid kinds and place categories (geo-core/src/model).

const DICT = {
  zh: {
    title: '网格治理地图',
    screenTitle: '网格化治理指挥中心',
    search: '搜索网格、社区、小区、楼栋…',
    noResults: '无结果',
    layers: '图层',
    filters: '事件筛选',
    legend: '图例',
    base: '底图',
    communities: '社区/村',
    'grids-comprehensive': '综合网格',
    'grids-micro': '微网格',
    'grids-dedicated': '专属网格',
    compounds: '小区',
    buildings: '楼栋',
    buildings3d: '三维楼栋',
    'places-facility': '服务设施',
    'places-public_space': '公共空间',
    'places-poi': '兴趣点',
    'places-parcel': '地块',
    events: '事件点',
    hex: '事件六边形',
    heatmap: '事件热力',
    overdue: '今日超期',
    timeRange: '时间范围',
    all: '全部',
    allTime: '不限',
    today: '今天',
    category: '类别',
    status: '状态',
    source: '来源',
    reset: '重置',
    close: '关闭',
    grid: '网格',
    code: '编码',
    name: '名称',
    kind: '类型',
    community: '所属社区',
    parent: '上级网格',
    workers: '网格员',
    households: '户数',
    residents: '人口',
    aged60: '60岁以上占比',
    elderlyAlone: '独居老人',
    openEvents: '在办事件',
    overdueEvents: '超期事件',
    medianHandling: '处置时长中位数',
    satisfaction: '满意度',
    perWeek: '每周事件数',
    hours: '小时',
    building: '楼栋',
    address: '地址',
    usage: '用途',
    levels: '层数',
    height: '高度',
    units: '单元',
    compound: '小区',
    event: '事件',
    reportedAt: '上报时间',
    deadline: '办结时限',
    grade: '等级',
    handler: '处置主体',
    timeline: '处置过程',
    loadFailed: '加载失败',
    kpiToday: '今日事件',
    kpiOpen: '在办事件',
    kpiOverdue: '超期事件',
    kpiMedian: '处置时长中位数',
    kpiSatisfaction: '本月满意度',
    liveFeed: '实时事件',
    reconnecting: '正在重连…',
    live: '实时',
    lang: 'EN',
    metres: '米',
    place: '场所',
    service: '服务',
    heatLow: '少',
    heatHigh: '多',
    shareView: '复制链接',
    copied: '已复制',
  },
  en: {
    title: 'Grid governance map',
    screenTitle: 'Grid governance command centre',
    search: 'Search grid, community, compound, building…',
    noResults: 'No results',
    layers: 'Layers',
    filters: 'Event filters',
    legend: 'Legend',
    base: 'Base map',
    communities: 'Communities',
    'grids-comprehensive': 'Comprehensive grids',
    'grids-micro': 'Micro-grids',
    'grids-dedicated': 'Dedicated grids',
    compounds: 'Compounds',
    buildings: 'Buildings',
    buildings3d: '3-D buildings',
    'places-facility': 'Facilities',
    'places-public_space': 'Public spaces',
    'places-poi': 'Points of interest',
    'places-parcel': 'Parcels',
    events: 'Event points',
    hex: 'Event hexagons',
    heatmap: 'Event density',
    overdue: 'Overdue today',
    timeRange: 'Time range',
    all: 'All',
    allTime: 'any',
    today: 'today',
    category: 'Category',
    status: 'Status',
    source: 'Source',
    reset: 'Reset',
    close: 'Close',
    grid: 'Grid',
    code: 'Code',
    name: 'Name',
    kind: 'Kind',
    community: 'Community',
    parent: 'Parent grid',
    workers: 'Workers',
    households: 'Households',
    residents: 'Residents',
    aged60: 'Aged 60+',
    elderlyAlone: 'Elderly living alone',
    openEvents: 'Open events',
    overdueEvents: 'Overdue events',
    medianHandling: 'Median handling time',
    satisfaction: 'Satisfaction',
    perWeek: 'Events per week',
    hours: 'h',
    building: 'Building',
    address: 'Address',
    usage: 'Use',
    levels: 'Floors',
    height: 'Height',
    units: 'Units',
    compound: 'Compound',
    event: 'Event',
    reportedAt: 'Reported',
    deadline: 'Deadline',
    grade: 'Grade',
    handler: 'Handler',
    timeline: 'Timeline',
    loadFailed: 'Failed to load',
    kpiToday: 'Events today',
    kpiOpen: 'Open',
    kpiOverdue: 'Overdue',
    kpiMedian: 'Median handling',
    kpiSatisfaction: 'Satisfaction (month)',
    liveFeed: 'Live events',
    reconnecting: 'Reconnecting…',
    live: 'Live',
    lang: '中文',
    metres: 'm',
    place: 'Place',
    service: 'Service',
    heatLow: 'few',
    heatHigh: 'many',
    shareView: 'Copy link',
    copied: 'Copied',
  },
};

/** Event taxonomy: first-level groups. */
export const GROUPS = [
  ['01', '矛盾纠纷', 'Disputes'],
  ['02', '城市管理', 'Urban management'],
  ['03', '物业管理', 'Property management'],
  ['04', '安全隐患', 'Safety hazards'],
  ['05', '民生服务', 'Livelihood services'],
  ['06', '社会治安', 'Public order'],
  ['07', '生态环境', 'Environment'],
  ['08', '市场监管', 'Market supervision'],
  ['09', '其他', 'Other'],
];

/** Event taxonomy: leaf categories. */
export const CATEGORIES = [
  ['01.01', '邻里纠纷', 'Neighbour dispute'],
  ['01.02', '家庭纠纷', 'Family dispute'],
  ['01.03', '租赁纠纷', 'Tenancy dispute'],
  ['01.04', '劳资纠纷', 'Labour dispute'],
  ['02.01', '违章停车', 'Illegal parking'],
  ['02.02', '环境卫生', 'Sanitation'],
  ['02.03', '违法建设', 'Illegal construction'],
  ['02.04', '占道经营', 'Street vending'],
  ['02.05', '噪声扰民', 'Noise'],
  ['03.01', '物业服务', 'Property management service'],
  ['03.02', '设施维修', 'Facility repair'],
  ['03.03', '供暖问题', 'Heating'],
  ['04.01', '消防隐患', 'Fire hazard'],
  ['04.02', '房屋安全', 'Building safety hazard'],
  ['04.03', '燃气安全', 'Gas safety'],
  ['04.04', '电动车违规充电', 'E-bike charging hazard'],
  ['05.01', '为老服务', 'Elderly assistance'],
  ['05.02', '社会救助', 'Social assistance'],
  ['05.03', '就业帮扶', 'Employment support'],
  ['06.01', '盗窃', 'Theft'],
  ['06.02', '诈骗', 'Fraud'],
  ['06.03', '重点人员', 'Key person follow-up'],
  ['06.04', '治安秩序', 'Public order disturbance'],
  ['07.01', '污染排放', 'Pollution'],
  ['07.02', '绿化养护', 'Greenery upkeep'],
  ['08.01', '食品安全', 'Food safety'],
  ['08.02', '价格欺诈', 'Pricing fraud'],
  ['09.01', '其他事项', 'Other matter'],
];

const VOCAB = {
  status: {
    reported: ['已上报', 'Reported'],
    accepted: ['已受理', 'Accepted'],
    dispatched: ['已派遣', 'Dispatched'],
    in_progress: ['处置中', 'In progress'],
    resolved: ['已办结', 'Resolved'],
    reviewed: ['已回访', 'Reviewed'],
    closed: ['已关闭', 'Closed'],
    rejected: ['不予受理', 'Rejected'],
    merged: ['已合并', 'Merged'],
    escalated: ['已上报上级', 'Escalated'],
    reopened: ['已重启', 'Reopened'],
  },
  statusClass: {
    open: ['在办', 'Open'],
    overdue: ['超期', 'Overdue'],
    closed: ['已办结', 'Closed'],
  },
  source: {
    patrol: ['网格员巡查', 'Patrol'],
    hotline: ['12345热线', '12345 hotline'],
    resident: ['群众随手拍', 'Resident report'],
    sensor: ['物联感知', 'Sensor'],
  },
  gridKind: {
    comprehensive: ['综合网格', 'Comprehensive'],
    micro: ['微网格', 'Micro'],
    dedicated: ['专属网格', 'Dedicated'],
  },
  grade: {
    urgent: ['特急', 'Urgent'],
    major: ['紧急', 'Major'],
    general: ['一般', 'General'],
    minor: ['轻微', 'Minor'],
  },
  usage: {
    residential: ['住宅', 'Residential'],
    mixed: ['商住', 'Mixed'],
    commercial: ['商业', 'Commercial'],
    industrial: ['工业', 'Industrial'],
    education: ['教育', 'Education'],
    health: ['医疗', 'Health'],
    government: ['政府', 'Government'],
    other: ['其他', 'Other'],
  },
  role: {
    grid_worker: ['网格员', 'Grid worker'],
    grid_leader: ['网格长', 'Grid leader'],
    neighbourhood_head: ['邻长', 'Neighbourhood head'],
  },
};

let lang = 'zh';

/** Sets the interface language (`zh` or `en`); anything else falls back to `zh`. */
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}

/** The current interface language. */
export function getLang() {
  return lang;
}

/** Translates an interface key; unknown keys come back unchanged. */
export function t(key) {
  return (DICT[lang] && DICT[lang][key]) || DICT.zh[key] || key;
}

/** Translates a vocabulary value (`status`, `statusClass`, `source`, `gridKind`, `grade`, `usage`, `role`). */
export function vocab(kind, value) {
  const row = VOCAB[kind] && VOCAB[kind][value];
  if (!row) return value == null ? '' : String(value);
  return lang === 'en' ? row[1] : row[0];
}

/** The values of a vocabulary, in table order. */
export function vocabValues(kind) {
  return Object.keys(VOCAB[kind] || {});
}

/** Display name of an event category code (`NN.MM` or `NN`). */
export function categoryName(code) {
  if (!code) return '';
  const c = String(code);
  const row = CATEGORIES.find((r) => r[0] === c) || GROUPS.find((r) => r[0] === c);
  if (!row) return c;
  return lang === 'en' ? row[2] : row[1];
}

/** Applies translations to every element carrying `data-i18n` (text) or `data-i18n-placeholder`. */
export function translateDom(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}
