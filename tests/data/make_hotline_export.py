#!/usr/bin/env python3
"""Writes hotline-export-gbk.csv and hotline-categories.toml (tests/data/).

A made-up week of a county 12345 citizen hotline's work-order export
(市民热线工单导出), as such systems hand it over: GBK-encoded, Chinese
headers, report times with slashes, the caller's complaint category, a free
text, the address, and WGS 84 coordinates that are missing on some orders
(the operator typed only an address, or nothing). Rows, by design:

* 14 good orders near 31.23 N, 121.50 E (the vendor estate of
  make_office_files.py);
* 3 orders with an address but no coordinates (need geocoding);
* 1 order with neither address nor coordinates;
* 1 order whose longitude is the text 不详 (unknown);
* 1 order whose report time is empty.

Nothing here comes from a real hotline; no real person is named. Standard
library only; run from this folder:

    python3 make_hotline_export.py
"""

HEADER = ["工单编号", "受理时间", "诉求类别", "诉求内容", "事发地址", "经度", "纬度", "办理状态"]

CATS = ["噪音扰民", "垃圾清运", "路灯损坏", "楼道堆物", "违章停车", "漏水", "邻里矛盾"]
TEXTS = {
    "噪音扰民": "夜间施工噪音",
    "垃圾清运": "垃圾箱满溢未清运",
    "路灯损坏": "小区门口路灯不亮",
    "楼道堆物": "楼道堆放杂物影响通行",
    "违章停车": "消防通道被车辆占用",
    "漏水": "楼上漏水至本户",
    "邻里矛盾": "邻居宠物扰民",
}


def row(i, day, hour, cat, addr, lon, lat, status="已办结"):
    return [
        f"RX2026110{day}{i:04d}",
        f"2026/11/0{day} {hour:02d}:{(i * 7) % 60:02d}",
        cat,
        TEXTS[cat],
        addr,
        lon,
        lat,
        status,
    ]


rows = []
for i in range(14):
    cat = CATS[i % len(CATS)]
    lon = f"{121.5003 + (i % 5) * 0.0004:.6f}"
    lat = f"{31.2302 + (i // 5) * 0.0004:.6f}"
    rows.append(row(i + 1, 1 + i % 7, 8 + i % 10, cat, f"浦江花园{1 + i % 6}号楼", lon, lat,
                    "已办结" if i % 3 else "办理中"))
rows.insert(3, row(90, 2, 9, "漏水", "浦江花园3号楼1单元502室", "", ""))
rows.insert(7, row(91, 3, 14, "垃圾清运", "滨江路与浦江路交叉口东北角", "", ""))
rows.insert(11, row(92, 4, 20, "噪音扰民", "浦江花园商业街12号", "", ""))
rows.insert(13, row(93, 5, 10, "路灯损坏", "", "", ""))
rows.insert(15, row(94, 5, 11, "违章停车", "浦江花园地下车库入口", "不详", "31.230600"))
bad_time = row(95, 6, 16, "楼道堆物", "浦江花园5号楼", "121.500700", "31.230600")
bad_time[1] = ""
rows.insert(17, bad_time)

with open("hotline-export-gbk.csv", "w", encoding="gbk", newline="") as f:
    for r in [HEADER] + rows:
        f.write(",".join(r) + "\r\n")

with open("hotline-categories.toml", "w", encoding="utf-8") as f:
    f.write("""# The complaint categories of the made-up 12345 export (hotline-export-gbk.csv)
# mapped onto the Wangge event taxonomy (see `wangge taxonomy`).
default = "09.01"

[map]
"噪音扰民" = "02.05"
"垃圾清运" = "02.02"
"路灯损坏" = "03.02"
"楼道堆物" = "04.01"
"违章停车" = "02.01"
"漏水" = "03.02"
"邻里矛盾" = "01.01"
""")
print(f"wrote hotline-export-gbk.csv ({len(rows)} orders) and hotline-categories.toml")
