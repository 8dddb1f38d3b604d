//! One conversion per element kind: the fields of a record (named by
//! [`crate::io::fields`]) into a model element, its references recorded for
//! the store lookup.

use super::*;

impl Builder {
    pub(super) fn person<R: Record>(&mut self, r: &R) {
        use ix::person as P;
        let loc = r.location();
        let id = self.id(r, |i: &PersonId| i.get(), v::id);
        let household = self.reference(
            r,
            P::HOUSEHOLD,
            ElementKind::Households,
            v::id,
            |i: &HouseholdId| i.get(),
        );
        let name = self.req(r, P::NAME, |s| Ok(s.to_string()));
        let national_id = self.opt(r, P::NATIONAL_ID, |s| {
            NationalId::parse(s).map_err(|e| e.to_string())
        });
        let phone = self.opt(r, P::PHONE, |s| Phone::parse(s).map_err(|e| e.to_string()));
        let birth_year = self.opt(r, P::BIRTH_YEAR, |s| {
            v::int::<u16>(s, "birth year").and_then(|y| {
                if (1880..=2100).contains(&y) {
                    Ok(y)
                } else {
                    Err("birth year must be between 1880 and 2100".into())
                }
            })
        });
        let sex = self.opt(r, P::SEX, v::sex);
        let tags = self.opt(r, P::TAGS, v::tags);
        let (
            Ok(id),
            Ok(household),
            Some(name),
            Ok(national_id),
            Ok(phone),
            Ok(birth_year),
            Ok(sex),
            Ok(tags),
        ) = (
            id,
            household,
            name,
            national_id,
            phone,
            birth_year,
            sex,
            tags,
        )
        else {
            return;
        };
        let digits = national_id.as_ref().map(|n| n.reveal().as_bytes());
        let Some(birth_year) = birth_year.or_else(|| {
            let d = digits?;
            std::str::from_utf8(&d[6..10]).ok()?.parse().ok()
        }) else {
            self.error(
                loc,
                P::BIRTH_YEAR,
                "",
                "required when there is no national_id to read it from",
            );
            return;
        };
        let Some(sex) = sex.or_else(|| {
            let d = digits?;
            Some(if (d[16] - b'0') % 2 == 1 {
                crate::model::Sex::Male
            } else {
                crate::model::Sex::Female
            })
        }) else {
            self.error(
                loc,
                P::SEX,
                "",
                "required when there is no national_id to read it from",
            );
            return;
        };
        let i = self.dataset.persons.len();
        self.claim(id.get(), i, loc);
        self.dataset.persons.push(Person {
            id,
            household,
            name,
            national_id,
            phone,
            birth_year,
            sex,
            tags: tags.unwrap_or_default(),
        });
    }

    pub(super) fn household<R: Record>(&mut self, r: &R) {
        use ix::household as H;
        let loc = r.location();
        let id = self.id(r, |i: &HouseholdId| i.get(), v::id);
        let building = self.reference(
            r,
            H::BUILDING,
            ElementKind::Buildings,
            v::id,
            |i: &BuildingId| i.get(),
        );
        let unit = self.reference(r, H::UNIT, ElementKind::Units, v::id, |i: &UnitId| i.get());
        let floor = self.req(r, H::FLOOR, |s| v::int::<i16>(s, "floor"));
        let room = self.req(r, H::ROOM, |s| Ok(s.to_string()));
        let size = self.opt(r, H::SIZE, |s| v::int::<u8>(s, "size"));
        let tenure = self.opt(r, H::TENURE, v::tenure);
        let group = self.opt(r, H::GROUP_RENTED, v::boolean);
        let party = self.opt(r, H::PARTY_MEMBER, v::boolean);
        if matches!(building, Ok(None)) {
            self.error(loc, H::BUILDING, "", "required field is missing or empty");
            return;
        }
        let (
            Ok(id),
            Ok(Some(building)),
            Ok(unit),
            Some(floor),
            Some(room),
            Ok(size),
            Ok(tenure),
            Ok(group),
            Ok(party),
        ) = (id, building, unit, floor, room, size, tenure, group, party)
        else {
            return;
        };
        let i = self.dataset.households.len();
        self.claim(id.get(), i, loc);
        self.dataset.households.push(Household {
            id,
            building,
            unit,
            floor,
            room,
            size: size.unwrap_or(0),
            tenure: tenure.unwrap_or(Tenure::Owned),
            group_rented: group.unwrap_or(false),
            party_member: party.unwrap_or(false),
        });
    }

    pub(super) fn building<R: Record>(&mut self, r: &R) {
        use ix::building as B;
        let loc = r.location();
        // Label points, entrances and addresses of OSM extracts are not buildings.
        if let Ok(Some(g)) = r.geometry() {
            if matches!(
                g.get("type").and_then(|t| t.as_str()),
                Some("Point" | "MultiPoint")
            ) {
                self.skipped_points += 1;
                self.stats.skipped += 1;
                return;
            }
        }
        let id = self.id(r, |i: &BuildingId| i.get(), v::id);
        let compound = self.reference(
            r,
            B::COMPOUND,
            ElementKind::Compounds,
            v::id,
            |i: &CompoundId| i.get(),
        );
        let levels = self.opt(r, B::LEVELS, |s| {
            v::non_negative(s, "levels").and_then(|x| {
                if x <= 300.0 {
                    Ok(x.round() as u16)
                } else {
                    Err("levels must be at most 300".into())
                }
            })
        });
        let height = self.opt(r, B::HEIGHT, |s| {
            v::non_negative(s, "height").and_then(|x| {
                if x <= 1000.0 {
                    Ok(x as f32)
                } else {
                    Err("height must be at most 1000 m".into())
                }
            })
        });
        let values = std::sync::Arc::clone(&self.rules.use_values);
        let usage: Opt<BuildingUse> = match self.opt(r, B::USE, |s| match values.get(s.trim()) {
            Some(u) => Ok(*u),
            None => v::building_use(s),
        }) {
            Ok(u) => Ok(u),
            Err(Bad) => {
                // An unknown use is not worth refusing a building for.
                if let Some(p) = self.problems.last_mut() {
                    p.severity = Severity::Warning;
                    p.reason.push_str("; imported as other");
                }
                Ok(Some(BuildingUse::Other))
            }
        };
        let units = self.opt(r, B::UNITS, |s| v::int::<u16>(s, "units"));
        let households = self.opt(r, B::HOUSEHOLDS, |s| v::int::<u32>(s, "households"));
        let estimated = self.opt(r, B::ESTIMATED, v::boolean);
        let address = r.get(B::ADDRESS).map(|s| s.into_owned()).or_else(|| {
            let street = r.get(B::STREET);
            let number = r.get(B::HOUSENUMBER);
            match (street, number) {
                (Some(s), Some(n)) => Some(format!("{s}{n}号")),
                (Some(s), None) => Some(s.into_owned()),
                _ => None,
            }
        });
        let footprints = self.footprints(r, B::GEOMETRY);
        let (
            Ok(compound),
            Ok(levels),
            Ok(height),
            Ok(usage),
            Ok(units),
            Ok(households),
            Ok(estimated),
            Some(mut footprints),
        ) = (
            compound, levels, height, usage, units, households, estimated, footprints,
        )
        else {
            return;
        };
        // Exploded parts after the first (largest, which keeps the file's
        // household and unit counts): buildings of their own.
        let rest = footprints.split_off(1);
        let Some(footprint) = footprints.pop() else {
            return;
        };
        let b = Building {
            id: match id {
                Ok(id) => id,
                Err(Some(i)) => {
                    if self.rules.merge_by_id {
                        self.merge_building(i, footprint.0, levels, height, address, compound);
                    }
                    return;
                }
                Err(None) => return,
            },
            compound,
            footprint,
            levels,
            height_m: height,
            usage: usage.unwrap_or(BuildingUse::Other),
            units: units.unwrap_or(0),
            households: households.unwrap_or(0),
            households_estimated: estimated.unwrap_or(false),
            address,
        };
        let i = self.dataset.buildings.len();
        self.claim(b.id.get(), i, loc);
        let parts: Vec<Building> = rest
            .into_iter()
            .map(|footprint| Building {
                footprint,
                units: 0,
                households: 0,
                households_estimated: false,
                ..b.clone()
            })
            .collect();
        self.dataset.buildings.push(b);
        self.dataset.buildings.extend(parts);
    }

    pub(super) fn merge_building(
        &mut self,
        i: usize,
        pieces: Vec<Polygon<f64>>,
        levels: Option<u16>,
        height: Option<f32>,
        address: Option<String>,
        compound: Option<CompoundId>,
    ) {
        self.stats.merged_pieces += 1;
        self.pieces.entry(i).or_default().extend(pieces);
        let b = &mut self.dataset.buildings[i];
        b.levels = b.levels.max(levels);
        b.height_m = match (b.height_m, height) {
            (Some(a), Some(h)) => Some(a.max(h)),
            (a, h) => a.or(h),
        };
        if b.address.is_none() {
            b.address = address;
        }
        if b.compound.is_none() {
            b.compound = compound;
        }
    }

    pub(super) fn unit<R: Record>(&mut self, r: &R) {
        use ix::unit as U;
        let loc = r.location();
        let id = self.id(r, |i: &UnitId| i.get(), v::id);
        let building = self.reference(
            r,
            U::BUILDING,
            ElementKind::Buildings,
            v::id,
            |i: &BuildingId| i.get(),
        );
        let number = self.req(r, U::NUMBER, |s| v::int::<u16>(s, "unit number"));
        let households = self.opt(r, U::HOUSEHOLDS, |s| v::int::<u32>(s, "households"));
        let entrance = self.point(r, U::LON, U::LAT, U::GEOMETRY);
        if matches!(building, Ok(None)) {
            self.error(loc, U::BUILDING, "", "required field is missing or empty");
            return;
        }
        let (Ok(id), Ok(Some(building)), Some(number), Ok(households), Some(entrance)) =
            (id, building, number, households, entrance)
        else {
            return;
        };
        let i = self.dataset.units.len();
        self.claim(id.get(), i, loc);
        self.dataset.units.push(Unit {
            id,
            building,
            number,
            households: households.unwrap_or(0),
            entrance,
        });
    }

    pub(super) fn compound<R: Record>(&mut self, r: &R) {
        use ix::compound as C;
        let loc = r.location();
        let id = self.id(r, |i: &CompoundId| i.get(), v::id);
        let name = self.req(r, C::NAME, |s| Ok(s.to_string()));
        let community = self.reference(
            r,
            C::COMMUNITY,
            ElementKind::Communities,
            v::id,
            |i: &CommunityId| i.get(),
        );
        let era = self.opt(r, C::ERA, v::era);
        let built = self.opt(r, C::BUILT_YEAR, |s| v::int::<u16>(s, "built year"));
        let boundary = self.multi_polygon(r, C::GEOMETRY);
        let (Ok(id), Some(name), Ok(community), Ok(era), Ok(built_year), Some(boundary)) =
            (id, name, community, era, built, boundary)
        else {
            return;
        };
        let i = self.dataset.compounds.len();
        self.claim(id.get(), i, loc);
        self.dataset.compounds.push(Compound {
            id,
            name,
            community,
            era: era.unwrap_or(CompoundEra::Other),
            built_year,
            boundary,
        });
    }

    pub(super) fn community<R: Record>(&mut self, r: &R) {
        use ix::community as C;
        let loc = r.location();
        let id = self.id(r, |i: &CommunityId| i.get(), v::id);
        let code = match self.opt(r, C::CODE, |s| {
            DivisionCode::parse(s).map_err(|e| e.to_string())
        }) {
            Ok(Some(c)) => Some(c),
            Ok(None) => match &self.rules.division_prefix {
                Some(prefix) => {
                    let code = format!("{prefix}{:03}", self.position);
                    match DivisionCode::parse(&code) {
                        Ok(c) if self.position <= 999 => Some(c),
                        _ => {
                            self.error(loc, C::CODE, &code, "cannot build a division code from division_prefix (9 digits) and the position (1–999)");
                            None
                        }
                    }
                }
                None => {
                    self.error(loc, C::CODE, "", "no division code: map a column with --map code=COLUMN or give a 9-digit division prefix");
                    None
                }
            },
            Err(Bad) => None,
        };
        let name = self.req(r, C::NAME, |s| Ok(s.to_string()));
        let village = self.opt(r, C::IS_VILLAGE, |s| match s {
            "村" => Ok(true),
            "社区" => Ok(false),
            _ => v::boolean(s),
        });
        let boundary = self.multi_polygon(r, C::GEOMETRY);
        let (Ok(id), Some(code), Some(name), Ok(village), Some(boundary)) =
            (id, code, name, village, boundary)
        else {
            return;
        };
        let i = self.dataset.communities.len();
        self.claim(id.get(), i, loc);
        self.dataset.communities.push(Community {
            id,
            code,
            name,
            is_village: village.unwrap_or(false),
            boundary,
        });
    }

    pub(super) fn grid<R: Record>(&mut self, r: &R) {
        use ix::grid as G;
        let loc = r.location();
        let id = self.id(r, |i: &GridId| i.get(), v::id);
        let code = self.req(r, G::CODE, |s| {
            GridCode::parse(s).map_err(|e| e.to_string())
        });
        let name = self.req(r, G::NAME, |s| Ok(s.to_string()));
        let kind = self.req(r, G::KIND, v::grid_kind);
        let community = self.reference(
            r,
            G::COMMUNITY,
            ElementKind::Communities,
            v::id,
            |i: &CommunityId| i.get(),
        );
        let parent = self.reference(r, G::PARENT, ElementKind::Grids, v::id, |i: &GridId| {
            i.get()
        });
        let workers = self.opt(r, G::WORKERS, workers);
        let boundary = self.multi_polygon(r, G::GEOMETRY);
        let (
            Ok(id),
            Some(code),
            Some(name),
            Some(kind),
            Ok(community),
            Ok(parent),
            Ok(workers),
            Some(boundary),
        ) = (id, code, name, kind, community, parent, workers, boundary)
        else {
            return;
        };
        let i = self.dataset.grids.len();
        self.claim(id.get(), i, loc);
        self.dataset.grids.push(Grid {
            id,
            code,
            name,
            kind,
            community,
            parent,
            boundary,
            workers: workers.unwrap_or_default(),
        });
    }

    pub(super) fn place<R: Record>(&mut self, r: &R) {
        use ix::place as P;
        let loc = r.location();
        let id = self.id(r, |i: &PlaceId| i.get(), v::id);
        let name = self.req(r, P::NAME, |s| Ok(s.to_string()));
        let category = self.req(r, P::CATEGORY, v::place_category);
        let service = self.opt(r, P::SERVICE, v::service);
        let geometry = self.point_or_geometry(r, P::LON, P::LAT, P::GEOMETRY);
        let (Ok(id), Some(name), Some(category), Ok(service), Some(geometry)) =
            (id, name, category, service, geometry)
        else {
            return;
        };
        let i = self.dataset.places.len();
        self.claim(id.get(), i, loc);
        self.dataset.places.push(Place {
            id,
            name,
            category,
            service,
            geometry,
        });
    }

    pub(super) fn event<R: Record>(&mut self, r: &R) {
        use ix::event as E;
        let loc = r.location();
        let id = self.id(r, |i: &EventId| i.get(), v::id);
        let category = self.req(r, E::CATEGORY, |s| {
            EventCategory::parse(s).map_err(|e| e.to_string())
        });
        let title = r.get(E::TITLE).map(|s| s.into_owned()).unwrap_or_default();
        let reported_at = self.req(r, E::REPORTED_AT, v::datetime);
        let source = self.opt(r, E::SOURCE, v::event_source);
        let status = self.opt(r, E::STATUS, v::event_status);
        let grade = self.opt(r, E::GRADE, v::grade);
        let deadline = self.opt(r, E::DEADLINE, v::datetime);
        let handler = r.get(E::HANDLER).map(|s| s.into_owned());
        let resolved_at = self.opt(r, E::RESOLVED_AT, v::datetime);
        let satisfaction = self.opt(r, E::SATISFACTION, |s| {
            v::int::<u8>(s, "satisfaction").and_then(|x| {
                if (1..=5).contains(&x) {
                    Ok(x)
                } else {
                    Err("satisfaction must be 1–5".into())
                }
            })
        });
        let master = self.reference(r, E::MASTER, ElementKind::Events, v::id, |i: &EventId| {
            i.get()
        });
        let reporter = self.reference(
            r,
            E::REPORTER_HOUSEHOLD,
            ElementKind::Households,
            v::id,
            |i: &HouseholdId| i.get(),
        );
        let location = self.point(r, E::LON, E::LAT, E::GEOMETRY);
        let (
            Ok(id),
            Some(category),
            Some(reported_at),
            Ok(source),
            Ok(status),
            Ok(grade),
            Ok(deadline),
            Ok(resolved_at),
            Ok(satisfaction),
            Ok(master),
            Ok(reporter_household),
            Some(location),
        ) = (
            id,
            category,
            reported_at,
            source,
            status,
            grade,
            deadline,
            resolved_at,
            satisfaction,
            master,
            reporter,
            location,
        )
        else {
            return;
        };
        let i = self.dataset.events.len();
        self.claim(id.get(), i, loc);
        self.dataset.events.push(Event {
            id,
            category,
            title,
            location,
            reported_at,
            source: source.unwrap_or(EventSource::Hotline),
            status: status.unwrap_or(EventStatus::Reported),
            grade: grade.unwrap_or(Grade::General),
            deadline,
            handler,
            resolved_at,
            satisfaction,
            master,
            reporter_household,
        });
    }

    pub(super) fn sentiment<R: Record>(&mut self, r: &R) {
        use ix::sentiment as S;
        let loc = r.location();
        let id = self.id(r, |i: &SentimentId| i.get(), v::id);
        let kind = self.req(r, S::KIND, v::sentiment_kind);
        let score = self.opt(r, S::SCORE, |s| v::number(s, "score").map(|x| x as f32));
        let text = r.get(S::TEXT).map(|s| s.into_owned()).unwrap_or_default();
        let at = self.req(r, S::AT, v::datetime);
        let h = self.reference(
            r,
            S::HOUSEHOLD,
            ElementKind::Households,
            v::id,
            |i: &HouseholdId| i.get(),
        );
        let p = self.reference(r, S::PLACE, ElementKind::Places, v::id, |i: &PlaceId| {
            i.get()
        });
        let e = self.reference(r, S::EVENT, ElementKind::Events, v::id, |i: &EventId| {
            i.get()
        });
        let (Ok(id), Some(kind), Ok(score), Some(at), Ok(h), Ok(p), Ok(e)) =
            (id, kind, score, at, h, p, e)
        else {
            return;
        };
        let link = match (h, p, e) {
            (Some(h), None, None) => SentimentLink::Household(h),
            (None, Some(p), None) => SentimentLink::Place(p),
            (None, None, Some(e)) => SentimentLink::Event(e),
            _ => {
                self.error(
                    loc,
                    S::HOUSEHOLD,
                    "",
                    "give exactly one of household_id, place_id, event_id",
                );
                return;
            }
        };
        let i = self.dataset.sentiments.len();
        self.claim(id.get(), i, loc);
        self.dataset.sentiments.push(Sentiment {
            id,
            kind,
            score,
            text,
            at,
            link,
        });
    }

    pub(super) fn organisation<R: Record>(&mut self, r: &R) {
        use ix::organisation as O;
        let loc = r.location();
        let id = self.id(r, |i: &OrganisationId| i.get(), v::id);
        let name = self.req(r, O::NAME, |s| Ok(s.to_string()));
        let kind = self.req(r, O::KIND, v::organisation_kind);
        let compound = self.reference(
            r,
            O::COMPOUND,
            ElementKind::Compounds,
            v::id,
            |i: &CompoundId| i.get(),
        );
        let members = self.opt(r, O::MEMBERS, |s| {
            v::list(s)
                .map(v::id::<PersonId>)
                .collect::<Parsed<Vec<_>>>()
        });
        let count = self.opt(r, O::MEMBER_COUNT, |s| v::int::<u32>(s, "member count"));
        let geometry = self.point_or_geometry(r, O::LON, O::LAT, O::GEOMETRY);
        let (Ok(id), Some(name), Some(kind), Ok(compound), Ok(members), Ok(count), Some(geometry)) =
            (id, name, kind, compound, members, count, geometry)
        else {
            return;
        };
        let members = members.unwrap_or_default();
        for m in &members {
            self.refs.push(Ref {
                loc,
                field: "members",
                kind: ElementKind::Persons,
                id: m.get(),
            });
        }
        let listed = members.len() as u32;
        let member_count = count.unwrap_or(listed);
        if member_count < listed {
            self.error(
                loc,
                O::MEMBER_COUNT,
                &member_count.to_string(),
                format!("smaller than the {listed} members listed"),
            );
            return;
        }
        let i = self.dataset.organisations.len();
        self.claim(id.get(), i, loc);
        self.dataset.organisations.push(Organisation {
            id,
            name,
            kind,
            geometry,
            compound,
            members,
            member_count,
        });
    }

    pub(super) fn road<R: Record>(&mut self, r: &R) {
        use ix::road as Ro;
        let loc = r.location();
        let id = self.id(r, |i: &RoadId| i.get(), v::id);
        let name = r.get(Ro::NAME).map(|s| s.into_owned());
        let class = self.opt(r, Ro::CLASS, v::road_class);
        let line = match self.geometry(r, Ro::GEOMETRY) {
            Ok(Some(Geometry::LineString(l))) => Some(l),
            Ok(Some(Geometry::MultiLineString(mut m))) if m.0.len() == 1 => m.0.pop(),
            Ok(Some(g)) => {
                self.error(
                    loc,
                    Ro::GEOMETRY,
                    type_name(&g),
                    "expected a LineString (split multi-part lines into several roads)",
                );
                None
            }
            Ok(None) => {
                self.error(loc, Ro::GEOMETRY, "", "required geometry is missing");
                None
            }
            Err(Bad) => None,
        };
        let (Ok(id), Ok(class), Some(line)) = (id, class, line) else {
            return;
        };
        let i = self.dataset.roads.len();
        self.claim(id.get(), i, loc);
        self.dataset.roads.push(Road {
            id,
            name,
            class: class.unwrap_or(RoadClass::Local),
            line,
        });
    }
}

/// Grid workers: a JSON array of `{name, role, full_time}` or
/// `name[:role[:full|part]]` items separated by `;`.
fn workers(s: &str) -> Parsed<Vec<Worker>> {
    if s.starts_with('[') {
        #[derive(serde::Deserialize)]
        struct W {
            name: String,
            #[serde(default)]
            role: Option<String>,
            #[serde(default)]
            full_time: Option<bool>,
        }
        let ws: Vec<W> = serde_json::from_str(s).map_err(|e| format!("workers JSON: {e}"))?;
        return ws
            .into_iter()
            .map(|w| {
                Ok(Worker {
                    name: w.name,
                    role: w
                        .role
                        .as_deref()
                        .map_or(Ok(WorkerRole::GridWorker), v::worker_role)?,
                    full_time: w.full_time.unwrap_or(true),
                })
            })
            .collect();
    }
    s.split([';', '；'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|item| {
            let mut it = item.splitn(3, [':', '：']).map(str::trim);
            let name = it.next().unwrap_or_default().to_string();
            let role = it
                .next()
                .map_or(Ok(WorkerRole::GridWorker), v::worker_role)?;
            let full_time = match it.next() {
                None | Some("full" | "专职" | "true") => true,
                Some("part" | "兼职" | "false") => false,
                Some(x) => return Err(format!("worker {name:?}: {x:?} is not full or part")),
            };
            Ok(Worker {
                name,
                role,
                full_time,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn worker_lists() {
        let w = workers("张三:网格长:full; 李四:grid_worker:part;王五").unwrap();
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].role, WorkerRole::GridLeader);
        assert!(!w[1].full_time);
        assert_eq!(w[2].role, WorkerRole::GridWorker);
        let j =
            workers(r#"[{"name":"赵六","role":"neighbourhood_head","full_time":false}]"#).unwrap();
        assert_eq!(j[0].role, WorkerRole::NeighbourhoodHead);
        assert!(workers("x:boss").is_err());
    }
}
